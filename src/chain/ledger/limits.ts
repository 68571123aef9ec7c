/**
 * Largest single airdrop the embedded ledger grants: with litesvm 1.5 an airdrop of 1e15 lamports
 * breaks later transactions; 1e14 is proven. The chain client tops a local payer up in requests of
 * at most this. A module of its own so the client can import it without loading LiteSVM.
 */
export const MAX_AIRDROP_LAMPORTS = 100_000_000_000_000n;
