import { runService } from '@notebooks/platform';
import { searchService } from './service';

void runService(searchService);
