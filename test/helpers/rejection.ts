/** The error a promise rejects with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}
