/**
 * `--audit NAME=VALUE` (repeatable) and `--no-audit`, for `segment run`, `schedule create` and
 * `schedule update`: the same checks, limits and validation as the workflow input's `audit` field
 * (lib/audit/audit-checks.ts), so a typo fails here, before a run or a schedule exists.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { AUDIT_CHECKS, AUDIT_CHECK_NAMES, AuditSettingProblem, auditInputOfFlags, type AuditInput } from '../lib/audit/audit-checks';

/** What commander leaves in `options.audit`: the pairs given, false for --no-audit, or nothing. */
export type AuditFlag = string[] | false | undefined;

export function addAuditOptions(command: Command): Command {
  const checks = AUDIT_CHECK_NAMES.map((name) => `${name} (default ${AUDIT_CHECKS[name].defaultLimit})`).join(', ');
  return command
    .option(
      '--audit <NAME=VALUE>',
      `set one check before publication, repeatable; VALUE may be "off". Checks: ${checks}`,
      (pair: string, previous: string[] | undefined) => {
        try {
          auditInputOfFlags([pair]);
        } catch (error) {
          if (error instanceof AuditSettingProblem) throw new InvalidArgumentError(error.message.replace(/^has no/, 'there is no'));
          throw error;
        }
        return [...(previous ?? []), pair];
      },
    )
    .option('--no-audit', 'publish without any check (for this run, or this schedule)');
}

/** The flags as the input's `audit` field, merged onto `previous` (what a schedule had); undefined: leave as it is. */
export function auditInputOf(flag: AuditFlag, previous?: AuditInput | null): AuditInput | undefined {
  if (flag === false) return false;
  if (flag === undefined || flag.length === 0) return undefined;
  return { ...(previous || {}), ...auditInputOfFlags(flag) };
}
