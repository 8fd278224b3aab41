import { runService } from '@notebooks/platform';
import { projectionService } from './service';

void runService(projectionService);
