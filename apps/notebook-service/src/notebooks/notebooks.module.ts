import { Module } from '@nestjs/common';
import { NotebooksHandlers } from './notebooks.handlers';
import { NotebooksService } from './notebooks.service';

@Module({ providers: [NotebooksService, NotebooksHandlers] })
export class NotebooksModule {}
