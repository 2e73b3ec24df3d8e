/**
 * Waits for a state the test cannot be told about (another process's, a server's), checking
 * every 10 ms, at most 3000 times; throws naming what never happened.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`never happened: ${what}`)
}
