// `dynab experiment put FILE|-`: defines or replaces an experiment on the compacted experiments
// topic, where the router and aggregator pick it up without restart. The JSON has the shape of
// ExperimentDefined; omitted fields take the defaults of EXPERIMENT_DEFAULTS. Kept as an entry
// point of its own; the work is done by the `dynab experiment` command shell.
import { runExperimentCommand, type CliIo } from './experiment-command.ts';

export { experimentFromJson } from './core/experiment-json.ts';

export function putExperiment(args: readonly string[], io?: CliIo): Promise<number> {
  return runExperimentCommand(['put', ...args], io);
}
