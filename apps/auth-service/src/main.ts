import { runService } from '@notebooks/platform';
import { authService } from './service';

void runService(authService);
