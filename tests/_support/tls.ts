/**
 * tls.ts — a throw-away self-signed certificate for the HTTPS tests, made
 * with openssl when it is installed.
 */

import { join } from "node:path";

/** HAVE_OPENSSL tells whether `openssl` runs; the HTTPS tests need it to make a certificate. */
export const HAVE_OPENSSL = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** Certificate is a leaf certificate for localhost and 127.0.0.1, and its key. */
export interface Certificate {
  certFile: string;
  keyFile: string;
  certPem: string;
}

/** makeCertificate writes `cert.pem` and `key.pem` (valid one day) into `dir`. */
export async function makeCertificate(dir: string): Promise<Certificate> {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      // openssl's default for -x509 is CA:TRUE, which rustls refuses as the
      // server's own certificate (CaUsedAsEndEntity): make it a leaf.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) {
    throw new Error(`openssl failed: ${new TextDecoder().decode(made.stderr)}`);
  }
  return { certFile, keyFile, certPem: await Deno.readTextFile(certFile) };
}
