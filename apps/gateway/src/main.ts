import { runService } from '@notebooks/platform';
import { gatewayService } from './service';

void runService(gatewayService);
