// The one libsodium function gridmint uses; sodium-native ships no type declarations.
declare module 'sodium-native' {
  export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  const sodium: { crypto_sign_verify_detached: typeof crypto_sign_verify_detached };
  export default sodium;
}
