import { runCacheBench } from './cache'
import { runGeneratorBench } from './generator'
import { runHitBench } from './hit'
import { type BenchReport, writeReport } from './lib'
import { updateReadme } from './readme'
import { runWorkloadBench } from './workload'

/** `npm run bench -- [name ...]`: runs the named benchmarks (all when none is named). */
const benches: Record<string, () => Promise<BenchReport>> = {
  cache: runCacheBench,
  generator: runGeneratorBench,
  hit: runHitBench,
  workload: runWorkloadBench,
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(name in benches))
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from: ${Object.keys(benches).join(', ')}`)
  process.exit(2)
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  const bench = benches[name]
  if (!bench) continue
  console.log(`\n## ${name}\n`)
  const report = await bench()
  console.log(report.table)
  writeReport(report)
}

// A full run refreshes the README's tables; a partial one only its own result files.
if (wanted.length === 0) {
  updateReadme()
  console.log('\nREADME.md benchmark section updated.')
}
