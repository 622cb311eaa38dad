// The dynab command line. `dynab start` (npm start) runs the whole pipeline locally.
import { launchStack } from '../services/launcher/launch-stack.ts';

const [command, ...rest] = process.argv.slice(2);

switch (command) {
  case 'start':
    process.exitCode = await launchStack(rest);
    break;
  default:
    process.stderr.write('Usage: dynab start [options]   (see: npm start -- --help)\n');
    process.exitCode = 2;
}
