/**
 * The Temporal Web UI (2.x, as the dev server serves it) used the way a person uses it: the Start
 * Workflow form, a run's page and its status, the "User Metadata" tab with the run's current
 * details, and "More Actions → Send an Update". Selectors are the UI's own ids, test ids, roles
 * and visible labels; where the UI needs a person's pauses (a JSON editor that reflows when it
 * loses focus), they are spelt out.
 */
import type { Locator, Page } from 'playwright-core';

/** How long to wait for something to show before reloading the page to ask again. */
const RELOAD_EVERY_MS = 4_000;

export interface StartWorkflowForm {
  workflowId: string;
  taskQueue: string;
  workflowType: string;
  /** The JSON typed into the Input → Data editor. */
  input: string;
}

export class TemporalUi {
  constructor(
    readonly page: Page,
    readonly baseUrl: string,
    readonly namespace = 'default',
  ) {}

  /** Opens Workflows → Start Workflow and fills it in; `submit` separately, so the filled form can be photographed. */
  async fillStartWorkflowForm(form: StartWorkflowForm): Promise<void> {
    await this.page.goto(`${this.baseUrl}/namespaces/${this.namespace}/workflows/start-workflow`);
    await this.page.locator('#workflowId').fill(form.workflowId);
    await this.page.locator('#taskQueue').fill(form.taskQueue);
    await this.page.locator('#workflowType').fill(form.workflowType);
    await this.typeJson(this.page.locator('.cm-content:visible').first(), form.input);
    // Leaving the editor pretty-prints the JSON and moves the button down: leave it first, then click.
    await this.page.getByRole('heading', { name: 'Start Workflow' }).click();
    // The form checks the task queue and says whether a worker polls it.
    await this.page.getByText('Task Queue is Active').waitFor();
  }

  async submitStartWorkflowForm(): Promise<void> {
    await this.page.getByRole('button', { name: 'Start Workflow' }).click();
    await this.page.getByText('Workflow started successfully').waitFor();
  }

  async openRun(workflowId: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}/namespaces/${this.namespace}/workflows/${encodeURIComponent(workflowId)}`);
    await this.status().waitFor();
  }

  /** The status badge at the top of a run's page: Running, Completed, Failed... */
  status(): Locator {
    return this.page.getByTestId('workflow-status').first();
  }

  /** Waits for the badge to say `status`; the page polls a running run, and is reloaded now and then in case. */
  async waitForStatus(status: string, timeoutMs = 90_000): Promise<void> {
    await this.waitWithReloads(this.page.getByTestId('workflow-status').filter({ hasText: status }).first(), timeoutMs);
  }

  /** The run's "current details" (set by the workflow), under the User Metadata tab. */
  async openCurrentDetails(): Promise<void> {
    await this.page.getByTestId('user-metadata-tab').first().click();
    await this.page.getByText('Current Details').first().waitFor();
  }

  /**
   * Waits until the current details show `text`, and returns all they say. The UI renders them
   * (markdown) in an iframe of their own, and reads them when the tab opens: it is reloaded until
   * they say it.
   */
  async waitForCurrentDetails(text: RegExp, timeoutMs = 60_000): Promise<string> {
    const details = this.page.locator('iframe[title="output"]').last().contentFrame();
    await this.waitWithReloads(details.getByText(text).first(), timeoutMs);
    return await details.locator('body').innerText();
  }

  /** More Actions → Send an Update: picks the update by name, types its JSON argument; `confirm` submits. */
  async fillUpdate(name: string, data: string): Promise<Locator> {
    await this.page.getByRole('button', { name: 'More Actions' }).click();
    await this.page.getByRole('menuitem', { name: 'Send an Update' }).click();
    const dialog = this.page.locator('dialog[open]');
    await dialog.getByTestId('update-select-button').click();
    await dialog.getByRole('option', { name }).click();
    await this.typeJson(dialog.locator('.cm-content'), data);
    // Leave the editor inside the dialog (a click outside it would close it).
    await dialog.locator('#update-id').click();
    return dialog;
  }

  async confirmUpdate(dialog: Locator): Promise<void> {
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await dialog.waitFor({ state: 'detached' }).catch(() => dialog.waitFor({ state: 'hidden' }));
  }

  private async typeJson(editor: Locator, json: string): Promise<void> {
    await editor.click();
    await this.page.keyboard.insertText(json);
  }

  private async waitWithReloads(target: Locator, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await target.waitFor({ timeout: Math.min(RELOAD_EVERY_MS, Math.max(1, deadline - Date.now())) });
        return;
      } catch (error) {
        if (Date.now() >= deadline) throw error;
        await this.page.reload();
      }
    }
  }
}
