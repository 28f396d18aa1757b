/**
 * The prebuilt workflow bundle is never a second source of truth: its name is a hash of
 * everything that goes into it, so changed workflow code means a new bundle, built on demand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkflowBundle, workflowBundleInputs } from '../../workers/workflow-bundle';

jest.setTimeout(60_000);

test("the inputs are exactly the project's modules webpack put in the bundle", async () => {
  const inputs = workflowBundleInputs();
  const { codePath } = await loadWorkflowBundle();
  expect(path.basename(codePath)).toBe(`workflow-bundle-${inputs.hash}.js`);
  // webpack names each module it bundled by its path, e.g. "./workflows/index.ts".
  const bundled = new Set([...fs.readFileSync(codePath, 'utf8').matchAll(/"\.\/([\w./-]+\.ts)"/g)].map(([, file]) => file));
  expect(inputs.files).toEqual([...bundled].sort());
  expect(inputs.packages).toMatchObject({ '@temporalio/workflow': expect.any(String), '@temporalio/worker': expect.any(String) });
});

test('a missing bundle is built again', async () => {
  const { codePath } = await loadWorkflowBundle();
  fs.rmSync(codePath);
  expect((await loadWorkflowBundle()).codePath).toBe(codePath);
  expect(fs.statSync(codePath).size).toBeGreaterThan(0);
});

describe('what changes the hash', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-inputs-'));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  const inputs = () => workflowBundleInputs(path.join(root, 'workflows', 'index.ts'), root);

  beforeAll(() => {
    write('workflows/index.ts', "export { run } from './run';\n");
    write(
      'workflows/run.ts',
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { Activities } from '../activities';",
        "import {\n  threshold,\n  type Category,\n} from '../lib/threshold';",
        "export async function run(): Promise<Category> { return threshold > 5 ? 'high' : 'low'; }",
      ].join('\n'),
    );
    write('lib/threshold.ts', 'export const threshold = 5;\nexport type Category = string;\n');
    write('activities/index.ts', "import fs from 'node:fs';\nexport type Activities = typeof fs;\n");
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('the files reached through imports for code, not type-only ones, and the packages they use', () => {
    expect(inputs().files).toEqual(['lib/threshold.ts', 'workflows/index.ts', 'workflows/run.ts']);
    expect(Object.keys(inputs().packages)).toEqual(['@temporalio/worker', '@temporalio/workflow']);
  });

  test('an imported file changes it; a file only imported for its types does not', () => {
    const before = inputs().hash;
    write('activities/index.ts', "import fs from 'node:fs';\nexport type Activities = typeof fs & { extra: true };\n");
    expect(inputs().hash).toBe(before);
    write('lib/threshold.ts', 'export const threshold = 6;\nexport type Category = string;\n');
    expect(inputs().hash).not.toBe(before);
  });

  test('an import of a file that is not there is named', () => {
    write('workflows/index.ts', "export { run } from './run';\nimport './missing';\n");
    expect(() => inputs()).toThrow(/workflows\/index\.ts imports .*workflows\/missing, which is not a file/);
  });
});
