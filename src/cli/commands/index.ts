import type { Command } from 'commander';
// One line per command module; each exports `register(program)`.
import { register as train } from './train.js';
import { register as exportDictionary } from './export-dictionary.js';
import { register as stats } from './stats.js';
import { register as features } from './features.js';
import { register as resampleReport } from './resample-report.js';
import { register as synth } from './synth.js';
import { register as evalCommand } from './eval.js';
import { register as sweep } from './sweep.js';
import { register as inspect } from './inspect.js';
import { register as model } from './model.js';
import { register as harvest } from './harvest.js';
import { register as report } from './report.js';
import { register as steer } from './steer.js';
import { register as attribute } from './attribute.js';

export function registerCommands(program: Command): void {
  train(program);
  exportDictionary(program);
  stats(program);
  features(program);
  resampleReport(program);
  synth(program);
  evalCommand(program);
  sweep(program);
  inspect(program);
  model(program);
  harvest(program);
  report(program);
  steer(program);
  attribute(program);
}
