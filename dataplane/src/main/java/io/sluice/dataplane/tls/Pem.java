package io.sluice.dataplane.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads the PEM a {@code kubernetes.io/tls} Secret holds: certificate chains, and private keys in the three forms
 * tools write (PKCS#8 {@code PRIVATE KEY}; PKCS#1 {@code RSA PRIVATE KEY}, which cert-manager writes by default; SEC1
 * {@code EC PRIVATE KEY}, which {@code openssl ecparam -genkey} writes). PKCS#1 and SEC1 are rewrapped as PKCS#8 so
 * the JDK's key factories read them. Errors say what is wrong and never echo key material.
 */
public final class Pem {
    private static final byte[] OID_RSA = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    private static final byte[] OID_EC = {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private Pem() {
    }

    /** The certificates of a PEM chain, in order (leaf first, as Secrets hold them). */
    public static List<X509Certificate> certificates(String pem) throws GeneralSecurityException {
        List<byte[]> ders = blocks(pem, "CERTIFICATE");
        if (ders.isEmpty()) {
            throw new GeneralSecurityException("no PEM CERTIFICATE block");
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>(ders.size());
        for (byte[] der : ders) {
            out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
        }
        return out;
    }

    /** The private key of a PEM block: PKCS#8, PKCS#1 (RSA) or SEC1 (EC). Encrypted keys are refused. */
    public static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        if (pem.contains("ENCRYPTED")) {
            throw new GeneralSecurityException("encrypted private keys are not supported");
        }
        List<byte[]> pkcs8 = blocks(pem, "PRIVATE KEY");
        if (!pkcs8.isEmpty()) {
            byte[] der = pkcs8.get(0);
            String alg = algorithmOfPkcs8(der);
            return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
        }
        List<byte[]> rsa = blocks(pem, "RSA PRIVATE KEY");
        if (!rsa.isEmpty()) {
            byte[] algId = Der.seq(Der.tlv(0x06, OID_RSA), new byte[] {0x05, 0x00});
            byte[] info = Der.seq(new byte[] {0x02, 0x01, 0x00}, algId, Der.tlv(0x04, rsa.get(0)));
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(info));
        }
        List<byte[]> ec = blocks(pem, "EC PRIVATE KEY");
        if (!ec.isEmpty()) {
            byte[] sec1 = ec.get(0);
            byte[] curve = Der.curveOfSec1(sec1);
            if (curve == null) {
                throw new GeneralSecurityException("EC PRIVATE KEY without its curve parameters");
            }
            byte[] algId = Der.seq(Der.tlv(0x06, OID_EC), curve);
            byte[] info = Der.seq(new byte[] {0x02, 0x01, 0x00}, algId, Der.tlv(0x04, sec1));
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(info));
        }
        throw new GeneralSecurityException("no PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block");
    }

    private static String algorithmOfPkcs8(byte[] der) throws GeneralSecurityException {
        if (indexOf(der, OID_RSA) >= 0) {
            return "RSA";
        }
        if (indexOf(der, OID_EC) >= 0) {
            return "EC";
        }
        throw new GeneralSecurityException("private key is neither RSA nor EC");
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length && i < 64; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** The DER contents of every {@code -----BEGIN type-----} block. */
    static List<byte[]> blocks(String pem, String type) throws GeneralSecurityException {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int b = pem.indexOf(begin, from);
            if (b < 0) {
                return out;
            }
            int e = pem.indexOf(end, b);
            if (e < 0) {
                throw new GeneralSecurityException("PEM " + type + " block without its END line");
            }
            String body = pem.substring(b + begin.length(), e).replaceAll("\\s", "");
            try {
                out.add(Base64.getDecoder().decode(body));
            } catch (IllegalArgumentException ex) {
                throw new GeneralSecurityException("PEM " + type + " block is not valid base64");
            }
            from = e + end.length();
        }
    }

    /** PEM text of DER blocks. */
    static String encode(String type, byte[] der) {
        String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + b64 + "\n-----END " + type + "-----\n";
    }

    /** Just enough DER to wrap keys and to write a self-signed certificate. */
    static final class Der {
        private Der() {
        }

        static byte[] tlv(int tag, byte[] value) {
            ByteArrayOutputStream o = new ByteArrayOutputStream(value.length + 6);
            o.write(tag);
            int n = value.length;
            if (n < 0x80) {
                o.write(n);
            } else if (n < 0x100) {
                o.write(0x81);
                o.write(n);
            } else if (n < 0x10000) {
                o.write(0x82);
                o.write(n >> 8);
                o.write(n);
            } else {
                o.write(0x83);
                o.write(n >> 16);
                o.write(n >> 8);
                o.write(n);
            }
            o.writeBytes(value);
            return o.toByteArray();
        }

        static byte[] seq(byte[]... parts) {
            return tlv(0x30, concat(parts));
        }

        static byte[] concat(byte[]... parts) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            for (byte[] p : parts) {
                o.writeBytes(p);
            }
            return o.toByteArray();
        }

        /**
         * The named-curve OID (a complete DER OBJECT IDENTIFIER) in a SEC1 ECPrivateKey's {@code [0]} parameters:
         * SEQUENCE { INTEGER 1, OCTET STRING key, [0] OID, [1] BIT STRING }.
         */
        static byte[] curveOfSec1(byte[] der) {
            int[] pos = {0};
            if (der.length < 2 || der[0] != 0x30) {
                return null;
            }
            int end = header(der, pos);
            int p = pos[0];
            while (p < end && p < der.length) {
                int tag = der[p] & 0xff;
                pos[0] = p;
                int vEnd = header(der, pos);
                if (tag == 0xa0) {
                    int q = pos[0];
                    if (der[q] != 0x06) {
                        return null;
                    }
                    int[] qp = {q};
                    int oEnd = header(der, qp);
                    return java.util.Arrays.copyOfRange(der, q, oEnd);
                }
                p = vEnd;
            }
            return null;
        }

        /** Reads a tag and length at pos[0]; leaves pos[0] at the value; returns the value's end. */
        private static int header(byte[] der, int[] pos) {
            int p = pos[0] + 1;
            int len = der[p++] & 0xff;
            if (len >= 0x80) {
                int n = len & 0x7f;
                len = 0;
                for (int i = 0; i < n; i++) {
                    len = (len << 8) | (der[p++] & 0xff);
                }
            }
            pos[0] = p;
            return p + len;
        }
    }
}
