/**
 * The dmvjnd command line: parses arguments, calls the library, prints results.
 * No media or model logic lives here; each command is one file in commands/.
 *
 * Only the command being run is imported (its module pulls in node-av, onnxruntime and
 * sharp, ~0.5 s on this machine); the others are listed for --help by name and summary.
 */
import { prestartDetectorWorker, prestartInitFromArgs } from '../machines/detector-prestart.ts';

interface CommandModule {
  command: string;
  describe: string;
}

/** Name -> loader of the command's module (the module's own `command` and `describe` show in --help). */
const COMMANDS: Record<string, { usage: string; describe: string; load: () => Promise<CommandModule> }> = {
  encode: { usage: 'encode [input]', describe: 'Encode a video to H.264/MP4, spending bits where the machine looks (default: a COCO object detector)', load: async () => (await import('./commands/encode.ts')).encodeCommand },
  verify: { usage: 'verify <reference> <encoded>', describe: 'Does the machine decide the same on the encoded video? (detection F1 and mAP@0.5, or RCA; PSNR, bitrate)', load: async () => (await import('./commands/verify.ts')).verifyCommand },
  jnd: { usage: 'jnd [input]', describe: "Picture what dmvjnd sees: the detector's boxes, its heatmap and the QP offsets (or the CIFAR JND) side by side (PNG)", load: async () => (await import('./commands/jnd.ts')).jndCommand },
  inspect: { usage: 'inspect <file>', describe: 'Read back frame count, bitrate and per-macroblock QPs of an H.264 file', load: async () => (await import('./commands/inspect.ts')).inspectCommand },
  sample: { usage: 'sample', describe: 'Write one of the built-in synthetic clips to a file (plain x264, CRF 18)', load: async () => (await import('./commands/sample.ts')).sampleCommand },
  bench: { usage: 'bench <clips..>', describe: 'Bitrate versus machine agreement: BD-rate at equal detection F1 / mAP@0.5 (or RCA for cifar) against x264 and baselines, with plots', load: async () => (await import('./commands/bench.ts')).benchCommand },
  search: { usage: 'search <input>', describe: 'Find the cheapest setting whose machine agreement (detection F1, or RCA for cifar) meets a target on sampled segments', load: async () => (await import('./commands/search.ts')).searchCommand },
  batch: { usage: 'batch [inputs..]', describe: 'Encode many clips (files, folders, globs or a JSONL manifest) into --out: resumable, isolated failures, N at a time', load: async () => (await import('./commands/batch.ts')).batchCommand },
  queue: { usage: 'queue <command>', describe: 'Scale out over machines: submit jobs to a BullMQ queue on Redis, run workers, see the status', load: async () => (await import('./commands/queue.ts')).queueCommand },
};

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const wanted = argv.find((a) => !a.startsWith('-'));
// An encode for the detector: its guide worker loads CenterNet while this thread imports the
// pipeline (~0.3 s); the encode adopts it if its settings turn out the same.
if (wanted === 'encode') {
  const init = prestartInitFromArgs(argv.slice(argv.indexOf('encode') + 1));
  if (init) prestartDetectorWorker(init);
}
// After the prestart: yargs and the command's modules take ~0.3 s to import.
const { default: yargs } = await import('yargs');
const { fail } = await import('./output.ts');
const cli = yargs(argv)
  .scriptName('dmvjnd')
  .usage(
    '$0 <command> [options]\n\n' +
      'Encode video for machines: per-macroblock QP offsets from what the machine needs (by default a COCO object\n' +
      'detector: its boxes finer, the background coarser) steer x264, and `verify` proves the machine still decides\n' +
      'the same on the decoded video (detection F1 and mAP@0.5; RCA for the CIFAR paper reproduction).',
  )
  .option('json', { type: 'boolean', default: false, describe: 'Machine-readable JSON on stdout (errors too)' });
// yargs renders the whole help at every command run (~0.1 s of string measuring on the main
// thread, delaying the command) to have it at hand if the handler throws; a failing command
// here prints its own sentence, never the help, so it is not needed.
(cli as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } }).getInternalMethods().getUsageInstance().cacheHelpMessage = () => {};
try {
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (name === wanted) cli.command((await c.load()) as never);
    else cli.command(c.usage, c.describe);
  }
} catch (err) {
  fail(err, json);
}
await cli
  .demandCommand(1, `Name a command: ${Object.keys(COMMANDS).join(', ')} (see --help).`)
  .strict()
  .recommendCommands()
  .fail((msg, err, y) => {
    if (err) fail(err, json);
    process.stderr.write(`${y.help()}\n\ndmvjnd: ${msg}\n`);
    process.exit(2);
  })
  .help()
  .version()
  .wrap(Math.min(120, process.stdout.columns || 110))
  .parseAsync();
