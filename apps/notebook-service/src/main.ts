import { runService } from '@notebooks/platform';
import { notebookService } from './service';

void runService(notebookService);
