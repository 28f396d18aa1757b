/** Links into the Temporal Web UI: the CLI prints them, notifications carry them. */
import type { AppConfig } from './config';

export function temporalUiLink(config: Pick<AppConfig, 'temporalUiUrl' | 'temporalNamespace'>, workflowId?: string): string {
  const base = `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows`;
  return workflowId ? `${base}/${encodeURIComponent(workflowId)}` : base;
}
