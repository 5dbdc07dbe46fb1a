// Prints the suite's closing line ("Tests: N passed, N failed, N skipped") from Vitest's JSON
// report and fails when any test failed, was skipped or was left as a todo: CI counts no skip as a pass.
import { readFileSync } from 'node:fs'

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const passed = report.numPassedTests
const failed = report.numFailedTests
const skipped = report.numPendingTests + report.numTodoTests
const failedFiles = report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.every((t) => t.status !== 'failed'))

for (const file of report.testResults) {
  for (const test of file.assertionResults) {
    if (test.status === 'pending' || test.status === 'skipped' || test.status === 'todo') {
      console.log(`skipped: ${file.name}: ${test.fullName}`)
    }
  }
}
for (const file of failedFiles) console.log(`failed to run: ${file.name}: ${file.message ?? ''}`)

console.log(`Tests: ${passed} passed, ${failed + failedFiles.length} failed, ${skipped} skipped`)
process.exit(failed > 0 || skipped > 0 || failedFiles.length > 0 || passed === 0 ? 1 : 0)
