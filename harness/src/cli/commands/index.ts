import type { Command } from 'commander';
import * as doctor from './doctor.ts';
import * as toolbox from './toolbox.ts';
import * as vboard from './vboard.ts';
import * as kernel from './kernel.ts';
import * as boards from './boards.ts';
import * as deploy from './deploy.ts';
import * as vectors from './vectors.ts';
import * as decode from './decode.ts';
import * as iterate from './iterate.ts';
import * as report from './report.ts';

/** A command family: registers its commands on the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** Every command family, in `--help` order. */
export const COMMAND_MODULES: CommandModule[] = [iterate, doctor, toolbox, vboard, kernel, boards, deploy, vectors, decode, report];
