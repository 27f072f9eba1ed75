package io.tansa.serve;

import io.tansa.Failure;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The server's TLS context from PEM files (RFC 7468): a certificate chain ("CERTIFICATE" blocks,
 * leaf first) and its private key — PKCS#8 ("PRIVATE KEY", what openssl 3 writes), or PKCS#1
 * RSA ("RSA PRIVATE KEY", wrapped here into PKCS#8) — or from a PKCS#12 key store.
 */
public final class Tls {
    private Tls() {}

    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    /** A TLS context serving the chain in {@code certPem} with the key in {@code keyPem}. */
    public static SSLContext fromPem(Path certPem, Path keyPem) {
        try {
            List<Certificate> chain;
            try (InputStream in = Files.newInputStream(certPem)) {
                chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
            }
            if (chain.isEmpty()) throw new Failure(Failure.Kind.USAGE, "--tls-cert " + certPem + ": no CERTIFICATE in it");
            PrivateKey key = privateKey(keyPem, chain.get(0).getPublicKey().getAlgorithm());
            char[] pw = new char[0];
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("tansa", key, pw, chain.toArray(Certificate[]::new));
            return context(ks, pw);
        } catch (IOException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot read TLS certificate or key: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new Failure(Failure.Kind.USAGE, "bad TLS certificate or key: " + e.getMessage());
        }
    }

    /** A TLS context from a PKCS#12 file and its password. */
    public static SSLContext fromPkcs12(Path store, char[] password) {
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            return context(ks, password);
        } catch (IOException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot read --tls-keystore " + store + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new Failure(Failure.Kind.USAGE, "bad --tls-keystore " + store + ": " + e.getMessage());
        }
    }

    private static SSLContext context(KeyStore ks, char[] pw) throws GeneralSecurityException {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static PrivateKey privateKey(Path pem, String algorithm) throws IOException, GeneralSecurityException {
        String text = Files.readString(pem, StandardCharsets.US_ASCII);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            byte[] pkcs8 = switch (type) {
                case "PRIVATE KEY" -> der;
                case "RSA PRIVATE KEY" -> pkcs1ToPkcs8(der);
                case "ENCRYPTED PRIVATE KEY" -> throw new Failure(Failure.Kind.USAGE, "--tls-key " + pem
                        + " is encrypted: give an unencrypted key (readable by root only) or a --tls-keystore");
                default -> null;
            };
            if (pkcs8 == null) continue;
            // the key's algorithm is the certificate's ("RSA", "EC", "Ed25519"...)
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        }
        throw new Failure(Failure.Kind.USAGE, "--tls-key " + pem + ": no PRIVATE KEY or RSA PRIVATE KEY block in it");
    }

    /**
     * RFC 5208 PrivateKeyInfo around an RFC 8017 RSAPrivateKey: SEQUENCE { INTEGER 0,
     * SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING { key } }.
     */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] alg = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = tlv(0x04, pkcs1);
        byte[] body = new byte[version.length + alg.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(alg, 0, body, version.length, alg.length);
        System.arraycopy(octets, 0, body, version.length + alg.length, octets.length);
        return tlv(0x30, body);
    }

    /** DER tag, definite length, value. */
    private static byte[] tlv(int tag, byte[] value) {
        int n = value.length;
        byte[] len = n < 128 ? new byte[] {(byte) n}
                : n < 256 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 65536 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(value, 0, out, 1 + len.length, n);
        return out;
    }
}
