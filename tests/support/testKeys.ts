/**
 * The fixed payload encryption key of the test systems (never used outside tests), so
 * histories captured in tests can be decoded again (replay tests, the codec endpoint).
 */
export const TEST_PAYLOAD_ENCRYPTION_KEYS = 'test1:Z29uZ2ppYW4tdGVzdC1wYXlsb2FkLWtleS0zMmJ5dGU=';
/** The fixed key sealing partners' webhook secrets in the test systems (WEBHOOK_SECRET_KEYS). */
export const TEST_WEBHOOK_SECRET_KEYS = 'testw1:Z29uZ2ppYW4tdGVzdC13ZWJob29rLXNlY3JldC1rZXk=';
