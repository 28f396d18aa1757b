/**
 * A jest reporter for test/run-tests.ts's lanes: one line when a test starts and one when it ends
 * (jest's own reporter speaks only when a whole file is done, so a stuck test was silent for as
 * long as its file's timeouts allowed), and the same events appended to a JSON-lines file, which
 * the lane reads back when it had to stop jest: what was running then, and what had failed.
 *
 * Plain JavaScript: jest loads reporters with Node's require, before any transform.
 */
const fs = require('node:fs');
const path = require('node:path');

class TestCaseReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    // Set by test/run-tests.ts for each lane; a jest run by hand only prints.
    this.eventsFile = process.env.TEST_EVENTS_FILE;
  }

  relative(testPath) {
    return path.relative(this.rootDir, testPath);
  }

  record(event) {
    if (this.eventsFile) fs.appendFileSync(this.eventsFile, `${JSON.stringify({ at: Date.now(), ...event })}\n`);
  }

  onTestFileStart(test) {
    const file = this.relative(test.path);
    process.stderr.write(`▶ ${file}\n`);
    this.record({ event: 'file-start', file });
  }

  onTestCaseStart(test, testCase) {
    this.record({ event: 'test-start', file: this.relative(test.path), test: testCase.fullName });
  }

  onTestCaseResult(test, testCase) {
    const file = this.relative(test.path);
    const seconds = ((testCase.duration ?? 0) / 1000).toFixed(1);
    const mark = testCase.status === 'passed' ? '✓' : testCase.status === 'failed' ? '✕' : '○';
    process.stderr.write(`  ${mark} ${file} › ${testCase.fullName} (${seconds} s)\n`);
    const failure = (testCase.failureMessages ?? []).join('\n').split('\n').slice(0, 25).join('\n');
    this.record({ event: 'test-end', file, test: testCase.fullName, status: testCase.status, seconds: Number(seconds), failure });
  }

  onTestFileResult(test, result) {
    this.record({ event: 'file-end', file: this.relative(test.path), failed: result.numFailingTests, message: result.failureMessage ? result.failureMessage.split('\n').slice(0, 25).join('\n') : undefined });
  }
}

module.exports = TestCaseReporter;
