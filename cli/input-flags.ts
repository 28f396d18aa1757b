/**
 * The flags of `segment run` and `segment schedule create|update` that set workflow input
 * fields, made from each field's one definition (workflows/segmentation-input.ts), and the input
 * that the flags given make.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AppConfig } from '../lib/config';
import { relativeToDataDir } from '../lib/data-dir';
import { WORKBOOK_READER_KINDS } from '../lib/workbook/workbook-source';
import { INPUT_FIELDS, INPUT_FIELD_NAMES, type InputField, type InputFieldName, type InputFlag, type SegmentationInput } from '../workflows/segmentation-input';
import { addAuditOptions, auditInputOf, type AuditFlag } from './audit-flags';

/** `schedule` covers `schedule create` and `schedule update`. */
export type InputFlagCommand = 'run' | 'schedule';

/** What commander leaves in a command's options for these flags: --file gives a list, --audit its pairs. */
export type InputFlagValues = Omit<SegmentationInput, 'file' | 'files' | 'audit'> & { file?: string[]; audit?: AuditFlag };

export const wholeNumber = (value: string): number => {
  // Digits only: Number() would also take '' or ' ' (0), '0x10' and '1e3'.
  const number = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) throw new InvalidArgumentError('must be a whole number');
  return number;
};

/** `24h` stays text for the workflow to read; digits alone are milliseconds. */
const durationText = (value: string): string | number => (/^\d+$/.test(value) ? Number(value) : value);

/**
 * Adds the command's input flags: the audit flags first (as they have always been listed), then
 * the others in field order. `purpose` completes a help line that depends on the command, such
 * as "to read each night".
 */
export function addInputFlags(command: Command, use: InputFlagCommand, purpose = ''): Command {
  const flagOf = (name: InputFieldName): InputFlag | undefined => (INPUT_FIELDS[name] as InputField).flags[use];
  const flagged = INPUT_FIELD_NAMES.filter((name) => flagOf(name) !== undefined);
  for (const name of [...flagged.filter((name) => name === 'audit'), ...flagged.filter((name) => name !== 'audit')]) {
    const flag = flagOf(name)!;
    if (flag.value === 'audit') {
      addAuditOptions(command);
      continue;
    }
    command.addOption(inputOption(name, flag, purpose));
  }
  return command;
}

function inputOption(name: InputFieldName, flag: InputFlag, purpose: string): Option {
  const option = new Option(flag.flag, typeof flag.help === 'function' ? flag.help(purpose) : (flag.help ?? ''));
  // The flag's value lands in options[name]; inputOfFlags relies on it.
  if (option.attributeName() !== name) throw new Error(`flag ${flag.flag} would set "${option.attributeName()}", not the input field "${name}"`);
  if (flag.required) option.makeOptionMandatory();
  if (flag.value === 'whole-number') option.argParser(wholeNumber);
  if (flag.value === 'duration') option.argParser(durationText);
  if (flag.value === 'reader') option.choices(WORKBOOK_READER_KINDS);
  return option;
}

/** `segment run` needs a workbook, except in append mode (a run that only re-applies its window). */
export function requireWorkbookFlag(options: Pick<InputFlagValues, 'file' | 'mode'>): void {
  if (options.file === undefined && options.mode !== 'append') {
    throw new InvalidArgumentError("required option '--file <path...>' not specified (only --mode append may leave it out)");
  }
}

/**
 * The input the given flags set, and nothing else: one --file is `file`, several are `files`,
 * each made relative to DATA_DIR; --audit pairs are merged onto `previousAudit` (what a schedule had).
 */
export function inputOfFlags(options: InputFlagValues, config: AppConfig, previousAudit?: SegmentationInput['audit']): SegmentationInput {
  const input: Record<string, unknown> = {};
  for (const name of INPUT_FIELD_NAMES) {
    if (name === 'file') {
      if (options.file === undefined) continue;
      const files = options.file.map((file) => relativeToDataDir(config.dataDir, file));
      if (files.length === 1) input.file = files[0];
      else input.files = files;
    } else if (name === 'audit') {
      const audit = auditInputOf(options.audit, previousAudit);
      if (audit !== undefined) input.audit = audit;
    } else if (Object.values((INPUT_FIELDS[name] as InputField).flags).some((flag) => flag?.value === 'path')) {
      const file = options[name as keyof InputFlagValues];
      if (typeof file === 'string') input[name] = relativeToDataDir(config.dataDir, file, name);
    } else if (name !== 'files') {
      const value = options[name];
      if (value !== undefined) input[name] = value;
    }
  }
  return input;
}
