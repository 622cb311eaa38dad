// The dynab command line.
//   dynab start [options]                   the whole pipeline locally (npm start)
//   dynab experiment COMMAND ...            create, update, show, pause, resume, stop, promote,
//                                           put an experiment (dynab experiment help)
//   dynab report EXPERIMENT [options]       one self-contained HTML report (dynab report --help)
import { runExperimentCommand } from '../services/cli/experiment-command.ts';
import { runReportCommand } from '../services/cli/report-command.ts';
import { launchStack } from '../services/launcher/launch-stack.ts';

const USAGE = `Usage: dynab start [options]          the pipeline locally (dynab start --help)
       dynab experiment COMMAND ...   create | update | show | pause | resume | stop | promote | put
                                      (dynab experiment help)
       dynab report EXPERIMENT [options] an HTML report of the experiment (dynab report --help)`;

const [command, ...rest] = process.argv.slice(2);

switch (command) {
  case 'start':
    process.exitCode = await launchStack(rest);
    break;
  case 'experiment':
    process.exitCode = await runExperimentCommand(rest);
    break;
  case 'report':
    process.exitCode = await runReportCommand(rest);
    break;
  case 'help':
  case '--help':
  case '-h':
    process.stdout.write(`${USAGE}\n`);
    break;
  default:
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
}
