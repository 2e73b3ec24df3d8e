import { spawnSync } from 'node:child_process'
import { runCacheBench } from './cache'
import { runGeneratorBench } from './generator'
import { runHitBench } from './hit'
import { type BenchReport, writeReport } from './lib'
import { runLibraryBench } from './library'
import { runMemoryBench } from './memory'
import { runPolicyBench } from './policy'
import { updateBenchmarkPage } from './readme'
import { runShapesBench } from './shapes'
import { runSimilarBench } from './similar'
import { runStartupBench } from './startup'
import { runTeamBench } from './team'
import { runUiBench } from './ui'
import { runWorkloadBench } from './workload'

/** `npm run bench -- [name ...]`: runs the named benchmarks (all when none is named). */
const benches: Record<string, () => Promise<BenchReport>> = {
  cache: runCacheBench,
  generator: runGeneratorBench,
  hit: runHitBench,
  workload: runWorkloadBench,
  similar: runSimilarBench,
  policy: runPolicyBench,
  startup: runStartupBench,
  memory: runMemoryBench,
  ui: runUiBench,
  library: runLibraryBench,
  team: runTeamBench,
  shapes: runShapesBench,
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(name in benches))
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from: ${Object.keys(benches).join(', ')}`)
  process.exit(2)
}
const names = wanted.length > 0 ? wanted : Object.keys(benches)

if (names.length === 1) {
  const name = names[0] as string
  console.log(`\n## ${name}\n`)
  const report = await (benches[name] as () => Promise<BenchReport>)()
  console.log(report.table)
  writeReport(report)
} else {
  // Each benchmark in a fresh process: one's heap and JIT state must not bill the next.
  for (const name of names) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, name], {
      stdio: 'inherit',
    })
    if (child.status !== 0) process.exit(child.status ?? 1)
  }
  // A full run refreshes docs/benchmarks.md's tables; a partial one only its own result files.
  if (wanted.length === 0) {
    updateBenchmarkPage()
    console.log('\ndocs/benchmarks.md tables updated.')
  }
}
