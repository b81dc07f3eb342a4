// Waiting for the load workers' messages (bench/load/cluster-load.mjs and hub-load.mjs): each
// worker's 'message' handler passes every message to deliver(); onAny() resolves with the first
// message, from any worker, that its predicate accepts (once: the waiter is then dropped); ask()
// sends one message to each worker and waits for each one's reply of a type.

/** A fresh set of waiters for one coordinator's workers. */
export function workerReplies() {
  const waiters = new Set();
  function onAny(pred) {
    return new Promise((resolve) => {
      const h = (w, m) => {
        if (!pred(w, m)) return;
        waiters.delete(h);
        resolve(m);
      };
      waiters.add(h);
    });
  }
  return {
    /** Offers a worker's message to every waiter registered before it arrived. */
    deliver(w, m) {
      for (const h of [...waiters]) h(w, m);
    },
    onAny,
    /** Sends `msg` to each of `workers` and resolves with their replies of `type`, in worker order. */
    ask(workers, msg, type) {
      return Promise.all(workers.map((w) => {
        const reply = onAny((x, m) => x === w && m.type === type);
        w.send(msg);
        return reply;
      }));
    },
    /** Waiters registered and not yet answered (tests: none left behind). */
    get waiting() {
      return waiters.size;
    },
  };
}
