/**
 * For tests that look into an error: awaits a promise that must reject with an error of `Class`
 * and returns it, typed. Any other outcome fails the test with what came instead.
 */
export async function rejection<T extends Error>(promise: Promise<unknown>, Class: abstract new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Class) return error;
    throw new Error(`expected a ${Class.name}, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected a ${Class.name}, but the promise resolved`);
}
