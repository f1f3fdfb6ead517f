#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { toolVersion } from './report/version.js';
import { analyzeCommand } from './commands/analyze.js';
import { cacheCommand } from './commands/cache.js';
import { coldstartCommand } from './commands/coldstart.js';
import { compareCommand } from './commands/compare.js';
import { EXIT_INPUT, ImgscopeError } from './errors.js';
import { escapeLines, escapeText } from './util/escape.js';
import { runCleanups } from './util/cleanup.js';

/**
 * The program: one function per command (src/commands/). Each command is made with
 * `program.command()`, so it inherits the exit override and the escaped error output set here.
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('imgscope')
    .description('Why is this container image so big, what does it cost at start-up, and what to cut')
    .version(toolVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(escapeLines(s)) }); // commander echoes bad arguments
  analyzeCommand(program);
  compareCommand(program);
  coldstartCommand(program);
  cacheCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    // no command is a usage error: the help on stderr, exit 2 (a CI step that forgot its arguments fails)
    program.outputHelp({ error: true });
    return EXIT_INPUT;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT_INPUT; // commander already printed the one-line usage error
    }
    // an error names files, tags, paths and snippets from the image: escaped (util/escape.ts), one line
    if (err instanceof ImgscopeError) {
      process.stderr.write(`imgscope: ${escapeText(err.message)}\n`);
      return err.exitCode;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`imgscope: ${escapeText(msg.split('\n')[0]!)}\n`);
    return EXIT_INPUT;
  } finally {
    await runCleanups();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${(await import('node:fs')).realpathSync(process.argv[1])}`).href;
if (isMain) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
