package io.sluice.dataplane.tls;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The certificate served when nothing else matches and no default certificate is configured, like ingress-nginx's
 * "Kubernetes Ingress Controller Fake Certificate": ECDSA P-256, self-signed, generated in memory at start-up (the key
 * never touches a disk), subject {@code CN=Sluice Default Certificate}, SAN {@code sluice.invalid}.
 *
 * <p>The JDK has no public API to write certificates, so this writes the few DER structures of RFC 5280 itself.
 */
public final class SelfSignedCertificate {
    public static final String COMMON_NAME = "Sluice Default Certificate";
    private static final byte[] OID_ECDSA_SHA256 = {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x04, 0x03, 0x02};
    private static final byte[] OID_CN = {0x55, 0x04, 0x03};
    private static final byte[] OID_SAN = {0x55, 0x1d, 0x11};
    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");

    public final String certificatePem;
    public final String privateKeyPem;

    private SelfSignedCertificate(String certificatePem, String privateKeyPem) {
        this.certificatePem = certificatePem;
        this.privateKeyPem = privateKeyPem;
    }

    public static SelfSignedCertificate generate() {
        return generate(COMMON_NAME, "sluice.invalid");
    }

    public static SelfSignedCertificate generate(String commonName, String dnsName) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair kp = g.generateKeyPair();
            byte[] alg = Pem.Der.seq(Pem.Der.tlv(0x06, OID_ECDSA_SHA256));
            byte[] name = Pem.Der.seq(Pem.Der.tlv(0x31, Pem.Der.seq(Pem.Der.tlv(0x06, OID_CN),
                Pem.Der.tlv(0x0c, commonName.getBytes(StandardCharsets.UTF_8)))));
            ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).withNano(0);
            byte[] validity = Pem.Der.seq(
                Pem.Der.tlv(0x17, UTC_TIME.format(now.minusDays(1)).getBytes(StandardCharsets.US_ASCII)),
                Pem.Der.tlv(0x17, UTC_TIME.format(now.plusYears(1)).getBytes(StandardCharsets.US_ASCII)));
            byte[] serial = new BigInteger(63, new SecureRandom()).add(BigInteger.ONE).toByteArray();
            byte[] san = Pem.Der.seq(Pem.Der.tlv(0x06, OID_SAN), Pem.Der.tlv(0x04,
                Pem.Der.seq(Pem.Der.tlv(0x82, dnsName.getBytes(StandardCharsets.US_ASCII)))));
            byte[] tbs = Pem.Der.seq(
                Pem.Der.tlv(0xa0, Pem.Der.tlv(0x02, new byte[] {2})),
                Pem.Der.tlv(0x02, serial),
                alg, name, validity, name,
                kp.getPublic().getEncoded(),
                Pem.Der.tlv(0xa3, Pem.Der.seq(san)));
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(kp.getPrivate());
            s.update(tbs);
            byte[] sig = s.sign();
            byte[] bitString = Pem.Der.tlv(0x03, Pem.Der.concat(new byte[] {0}, sig));
            byte[] cert = Pem.Der.seq(tbs, alg, bitString);
            return new SelfSignedCertificate(Pem.encode("CERTIFICATE", cert),
                Pem.encode("PRIVATE KEY", kp.getPrivate().getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate the default certificate", e);
        }
    }
}
