// The dynab command line.
//   dynab start [options]                   the whole pipeline locally (npm start)
//   dynab experiment COMMAND ...            create, update, show, pause, resume, stop, promote,
//                                           put an experiment (dynab experiment help)
//   dynab audit REQUEST_ID [--json]         the trail of one request, from the topics
//   dynab replay --experiment X --from --to rebuild the posteriors and check the published ones
//   dynab history EXPERIMENT                the experiment's timeline
//   dynab ope --experiment X --policy P     off-policy evaluation of another policy
//   dynab report EXPERIMENT [options]       one self-contained HTML report (dynab report --help)
import { runAuditCommand } from '../services/cli/audit-command.ts';
import { runHistoryCommand } from '../services/cli/history-command.ts';
import { runOpeCommand } from '../services/cli/ope-command.ts';
import { runReplayCommand } from '../services/cli/replay-command.ts';
import { runExperimentCommand } from '../services/cli/experiment-command.ts';
import { runReportCommand } from '../services/cli/report-command.ts';
import { launchStack } from '../services/launcher/launch-stack.ts';

const USAGE = `Usage: dynab start [options]          the pipeline locally (dynab start --help)
       dynab experiment COMMAND ...   create | update | show | pause | resume | stop | promote | put
                                      (dynab experiment help)
       dynab audit REQUEST_ID [--json] [--at TIME | --from TIME --to TIME]
                                      the trail of one request (dynab audit --help)
       dynab replay --experiment NAME --from POS --to POS [--json]
                                      rebuild the posteriors from the topics and compare them
                                      with the published ones (dynab replay --help)
       dynab history EXPERIMENT [--kind KIND] [--json]
                                      revisions, posterior, allocation and decisions over time
       dynab ope --experiment NAME --policy POLICY [--from TIME] [--to TIME] [--json]
                                      what another policy would have earned (IPS, SNIPS, DR)
       dynab report EXPERIMENT [options] an HTML report of the experiment (dynab report --help)`;

const [command, ...rest] = process.argv.slice(2);

switch (command) {
  case 'start':
    process.exitCode = await launchStack(rest);
    break;
  case 'experiment':
    process.exitCode = await runExperimentCommand(rest);
    break;
  case 'audit':
    process.exitCode = await runAuditCommand(rest);
    break;
  case 'replay':
    process.exitCode = await runReplayCommand(rest);
    break;
  case 'history':
    process.exitCode = await runHistoryCommand(rest);
    break;
  case 'ope':
    process.exitCode = await runOpeCommand(rest);
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
