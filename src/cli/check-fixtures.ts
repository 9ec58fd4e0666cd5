/** `multiuser-server check-fixtures DIR` (placeholder until the fixture runner lands). */
export async function runCheckFixtures(args: string[]): Promise<number> {
  console.error(`check-fixtures: not implemented yet (${args.join(' ')})`);
  return 1;
}
