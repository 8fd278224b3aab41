import { Module } from '@nestjs/common';
import { NotebooksHandlers } from './notebooks.handlers';
import { NotebooksService } from './notebooks.service';
import { ShareLookupThrottle } from './share-lookup-throttle';

@Module({ providers: [NotebooksService, NotebooksHandlers, ShareLookupThrottle] })
export class NotebooksModule {}
