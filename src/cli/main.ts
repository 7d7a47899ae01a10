/**
 * The dmvjnd command line: parses arguments, calls the library, prints results.
 * No media or model logic lives here; each command is one file in commands/.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { batchCommand } from './commands/batch.ts';
import { benchCommand } from './commands/bench.ts';
import { encodeCommand } from './commands/encode.ts';
import { inspectCommand } from './commands/inspect.ts';
import { jndCommand } from './commands/jnd.ts';
import { queueCommand } from './commands/queue.ts';
import { sampleCommand } from './commands/sample.ts';
import { searchCommand } from './commands/search.ts';
import { verifyCommand } from './commands/verify.ts';
import { fail } from './shared.ts';

await yargs(hideBin(process.argv))
  .scriptName('dmvjnd')
  .usage(
    '$0 <command> [options]\n\n' +
      'Encode video for machine vision: a DMV-JND model predicts where classifiers tolerate distortion,\n' +
      'per-macroblock QP offsets steer x264 accordingly, and `verify` proves the classifiers still agree (RCA).',
  )
  .option('json', { type: 'boolean', default: false, describe: 'Machine-readable JSON on stdout (errors too)' })
  .command(encodeCommand as never)
  .command(verifyCommand as never)
  .command(jndCommand as never)
  .command(inspectCommand as never)
  .command(sampleCommand as never)
  .command(benchCommand as never)
  .command(searchCommand as never)
  .command(batchCommand as never)
  .command(queueCommand as never)
  .demandCommand(1, 'Name a command: encode, verify, jnd, inspect, sample, bench, search, batch or queue (see --help).')
  .strict()
  .recommendCommands()
  .fail((msg, err, y) => {
    if (err) fail(err, process.argv.includes('--json'));
    process.stderr.write(`${y.help()}\n\ndmvjnd: ${msg}\n`);
    process.exit(2);
  })
  .help()
  .version()
  .wrap(Math.min(120, process.stdout.columns || 110))
  .parseAsync();
