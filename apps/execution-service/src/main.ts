import { runService } from '@notebooks/platform';
import { executionService } from './service';

void runService(executionService);
