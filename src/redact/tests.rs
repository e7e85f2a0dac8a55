use super::*;
use serde_json::{json, Value};

/// (input, expected output): one or more per kind, in the spellings people write them.
const REDACTS: &[(&str, &str)] = &[
    // Anthropic, OpenAI
    ("use sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv now", "use [REDACTED] now"),
    ("key sk-proj-abcdefghijklmnopqrstuvwxyz123", "key [REDACTED]"),
    ("OPENAI_API_KEY=sk-svcacct-Tz9Qw8Er7Ty6Ui5Op4As3Df2Gh1", "OPENAI_API_KEY=[REDACTED]"),
    // GitHub, GitLab
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED]"),
    ("github_pat_11ABCDEFG0_abcdefghijklmnopqrstuvwxyz", "[REDACTED]"),
    ("glpat-abcdefghij0123456789", "[REDACTED]"),
    // AWS
    ("aws AKIAIOSFODNN7EXAMPLE here", "aws [REDACTED] here"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls", "AWS_SECRET_ACCESS_KEY=[REDACTED] aws s3 ls"),
    ("export AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"", "export AWS_SECRET_ACCESS_KEY=\"[REDACTED]\""),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "aws_secret_access_key = [REDACTED]\n"),
    ("aws_session_token=FwoGZXIvYXdzEBYaDExample", "aws_session_token=[REDACTED]"),
    (r#"{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", "Expiration": "2030"}"#, r#"{"SecretAccessKey": "[REDACTED]", "Expiration": "2030"}"#),
    ("secretAccessKey: 'wJalrXUtnFEMI/K7MDENG'", "secretAccessKey: '[REDACTED]'"),
    // Slack, Google, JWT
    ("xoxb-123456789012-abcdefghijkl", "[REDACTED]"),
    ("https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnop", "https://hooks.slack.com/services/[REDACTED]"),
    ("AIzaSyD-abcdefghijklmnopqrstuvwxyz12345", "[REDACTED]"),
    ("ya29.a0AfH6SMBabcdefghijklmnop_qrs", "[REDACTED]"),
    ("GOCSPX-abcdefghijklmnop_qrstuv", "[REDACTED]"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fw", "[REDACTED]"),
    // Authorization
    ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer [REDACTED]"),
    ("curl -H 'Authorization: Basic YWRtaW46czNjcjN0UGFzcw==' x", "curl -H 'Authorization: Basic [REDACTED]' x"),
    ("proxy-authorization: Basic YWRtaW46czNjcjN0UGFzcw==", "proxy-authorization: Basic [REDACTED]"),
    ("Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123", "Authorization: token [REDACTED]"),
    ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer [REDACTED]"),
    (r#"{"Authorization": "Digest username"}"#, r#"{"Authorization": "Digest [REDACTED]"}"#),
    ("authorization: Zm9vOmJhcg==", "authorization: [REDACTED]"),
    ("the header Basic YWRtaW46czNjcjN0UGFzcw== was sent", "the header Basic [REDACTED] was sent"),
    // Stripe (publishable keys are kept: see the negatives)
    ("sk_live_51HqLyjWDarjtT1zdp7dc", "[REDACTED]"),
    ("rk_live_51HqLyjWDarjtT1zdp7dc", "[REDACTED]"),
    ("STRIPE_KEY=sk_test_51HqLyjWDarjtT1zdp7dc", "STRIPE_KEY=[REDACTED]"),
    ("whsec_abcdefghijklmnopqrstuvwx", "[REDACTED]"),
    // Databases
    ("PGPASSWORD=hunter22 psql -h db", "PGPASSWORD=[REDACTED] psql -h db"),
    ("MYSQL_PWD='hunter22' mysql", "MYSQL_PWD='[REDACTED]' mysql"),
    ("postgres://app:hunter22@db.internal:5432/app", "postgres://app:[REDACTED]@db.internal:5432/app"),
    ("mysql://root:p@ss:w0rd@localhost/shop", "mysql://root:[REDACTED]@localhost/shop"),
    ("mongodb+srv://admin:hunter22@cluster0.ab1cd.mongodb.net/test?retryWrites=true", "mongodb+srv://admin:[REDACTED]@cluster0.ab1cd.mongodb.net/test?retryWrites=true"),
    ("redis://:hunter22@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
    ("https://x-access-token:abc123def@github.com/o/r.git", "https://x-access-token:[REDACTED]@github.com/o/r.git"),
    // Azure
    ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqF+lqUwJP/Llm==;EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=core.windows.net"),
    ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=abcDEF123+/=", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=[REDACTED]"),
    ("https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=abcDEF123%2Bxyz%3D&se=2030", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=[REDACTED]&se=2030"),
    ("BlobEndpoint=https://a/;SharedAccessSignature=sv=2022-11-02&sig=abcDEF123%3D;x=1", "BlobEndpoint=https://a/;SharedAccessSignature=[REDACTED];x=1"),
    ("secret Abc8Q~abcdefghijklmnopqrstuvwxyz0123456 ok", "secret [REDACTED] ok"),
    // GCP service account (the PEM and private_key_id)
    (r#"{"private_key_id": "0123456789abcdef0123456789abcdef01234567", "client_email": "sa@p.iam.gserviceaccount.com"}"#, r#"{"private_key_id": "[REDACTED]", "client_email": "sa@p.iam.gserviceaccount.com"}"#),
    (r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG==\n-----END PRIVATE KEY-----\n"}"#, r#"{"private_key": "[REDACTED]"}"#),
    // npm, PyPI
    ("npm_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED]"),
    ("//registry.npmjs.org/:_authToken=abc123def456", "//registry.npmjs.org/:_authToken=[REDACTED]"),
    ("//registry.npmjs.org/:_auth=dXNlcjpwYXNz", "//registry.npmjs.org/:_auth=[REDACTED]"),
    ("pypi-AgEIcHlwaS5vcmcCJDQ5ZmQ2YjE3LTk4NjUtNGZhYS1iMzI1LWYxN2I0NmU4NTg5ZQ", "[REDACTED]"),
    // Twilio, SendGrid, Hugging Face
    ("key SKfeedfacecafebeef0123456789abcdef end", "key [REDACTED] end"),
    ("TWILIO_AUTH_TOKEN=9f8e7d6c5b4a39281706f5e4d3c2b1a0", "TWILIO_AUTH_TOKEN=[REDACTED]"),
    ("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", "[REDACTED]"),
    ("hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH", "[REDACTED]"),
    // Generic assignments
    ("password=hunter22 next", "password=[REDACTED] next"),
    ("PASSWORD: 'hunter22'", "PASSWORD: '[REDACTED]'"),
    ("api_key=abc123", "api_key=[REDACTED]"),
    (r#"{"api_key": "abc123", "n": 1}"#, r#"{"api_key": "[REDACTED]", "n": 1}"#),
    ("export FOO_API_KEY=abc123", "export FOO_API_KEY=[REDACTED]"),
    ("FOO_TOKEN=abc123 ./run", "FOO_TOKEN=[REDACTED] ./run"),
    ("FOO_SECRET=\"two words\"", "FOO_SECRET=\"[REDACTED]\""),
    ("secret=abc123&x=1", "secret=[REDACTED]&x=1"),
    ("GET /cb?token=abc123&state=x", "GET /cb?token=[REDACTED]&state=x"),
    ("db:\n  password: swordfish\n", "db:\n  password: [REDACTED]\n"),
    ("client_secret = 'abc123'", "client_secret = '[REDACTED]'"),
    ("DB_PASS=hunter22", "DB_PASS=[REDACTED]"),
    ("x-api-key: abc123def", "x-api-key: [REDACTED]"),
    ("mysql --password hunter22 -e 'select 1'", "mysql --password [REDACTED] -e 'select 1'"),
    ("gh auth --with-token --token abc123", "gh auth --with-token --token [REDACTED]"),
    // Private keys of every PEM type
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAbc==\n-----END RSA PRIVATE KEY-----\nrest", "[REDACTED]\nrest"),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----", "[REDACTED]"),
    ("-----BEGIN DSA PRIVATE KEY-----\nMIIBu\n-----END DSA PRIVATE KEY-----", "[REDACTED]"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----", "[REDACTED]"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----", "[REDACTED]"),
    ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A\n\nabc\n-----END RSA PRIVATE KEY-----", "[REDACTED]"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: x\n\nlQOY\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----", "[REDACTED]"),
    ("key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG", "key: [REDACTED]"),
    (r#"k -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz\nAAAA\" rest"#, r#"k [REDACTED]\" rest"#),
];

/// Ordinary text that must come out unchanged.
const KEEPS: &[&str] = &[
    "see task-notification-handler-service-registry",
    "pip install sk-learn-compatible-estimators-list",
    r#"{"usage":{"input_tokens":2000,"output_tokens":400,"cache_read_input_tokens":5},"totalTokens":2400}"#,
    r#"{"max_tokens": 4096, "max_token": 4096, "token_count": 5, "tokens": 120}"#,
    "tokens: 120",
    r#"{"permission_mode":"bypassPermissions","secret":true,"password":null,"token":42}"#,
    "8af4ae43-26fb-42c3-aac0-62e6a2d826c7 3dacbd4d56856296a1b2c3d4e5f60718293a4b5c",
    "PWD=/home/dev/proj OLDPWD=/tmp bypass=1 compass=north oauth=1 author: me",
    "pk_live_51HqLyjWDarjtT1zdp7dc pk_test_51HqLyjWDarjtT1zdp7dc",
    "ACfeedfacecafebeef0123456789abcdef SKETCH SKIP",
    "a basic installation, the bearer instruments, Authorization: required before use",
    "https://registry.npmjs.org:443/@scope/pkg git@github.com:org/repo.git ssh://git@host:22/x http://localhost:8080/api",
    "hf_hub_download npm_config_cache=/tmp/x msg.content SG.total",
    "secrets: [a] token_budget=5 password_hash: x --token-file /p --max-tokens 5 Rotate the API key",
    "the private key file is in ~/.ssh; BEGIN PRIVATE KEY",
    "xoxo hugs, AKIA is a prefix, eyJ alone",
    "a password: is required",
];

#[test]
fn redacts_every_kind() {
    for (input, want) in REDACTS {
        assert_eq!(redact(input), *want, "input {input}");
    }
}

#[test]
fn keeps_ordinary_text() {
    for input in KEEPS {
        assert_eq!(redact(input), *input);
        assert!(matches!(redact(input), Cow::Borrowed(_)));
    }
}

#[test]
fn redacting_twice_changes_nothing() {
    for (input, want) in REDACTS {
        assert_eq!(redact(want), *want, "second pass over {want}");
        let nested = json!({ "p": input }).to_string();
        let once = redact(&nested).into_owned();
        assert_eq!(redact(&once), once);
    }
}

/// The secret part of an input: what its expected output dropped.
fn dropped<'a>(input: &'a str, want: &str) -> Vec<&'a str> {
    input
        .split(|c: char| c.is_whitespace() || "\"'=:;,&@/?".contains(c))
        .filter(|w| w.len() >= 6 && !want.contains(w))
        .collect()
}

#[test]
fn keeps_json_valid_at_every_nesting() {
    for (input, want) in REDACTS {
        // As a JSON string, as JSON inside a JSON string, and twice nested.
        let once = json!({ "prompt": input, "n": 1 }).to_string();
        let twice = json!({ "tool_input": { "command": once.clone() } }).to_string();
        let thrice = json!({ "p": twice.clone() }).to_string();
        for text in [&once, &twice, &thrice] {
            let out = redact(text);
            serde_json::from_str::<Value>(&out)
                .unwrap_or_else(|e| panic!("{e}: {input} became {out}"));
            for secret in dropped(input, want) {
                assert!(!out.contains(secret), "{secret} kept in {out}");
            }
        }
    }
}

/// A property test: random mixes of secrets, quotes, escapes and separators, as JSON and as
/// JSON inside JSON, stay valid JSON and are redacted idempotently. 3,000 cases here;
/// `REDACT_FUZZ_ROUNDS=300000 REDACT_FUZZ_SEED=n cargo test --release --lib any_mix` for more
/// (run with several seeds when a rule changes).
#[test]
fn any_mix_of_secrets_and_structure_stays_json() {
    let parts = [
        "password=",
        "password: ",
        "\"api_key\": ",
        "token=\"",
        "secret='",
        "\\",
        "\"",
        "'",
        ", ",
        "}",
        "]",
        "\n",
        "\\n",
        "sk_live_51HqLyjWDarjtT1zdp7dc",
        "ghp_abcdefghijklmnopqrstuvwxyz0123",
        "postgres://u:p4ss@h/db",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "-----END RSA PRIVATE KEY-----",
        "Authorization: Basic YWRtaW46czNjcjN0",
        "é",
        "\u{1A}",
        " ",
        "abc123",
        "sig=abcdefgh123",
        "Authorization:",
        "--token ",
        "SharedAccessSignature=",
        "Bearer ",
        ":",
        "12345",
        "\\\"",
        "\\\\",
        "AccountKey=",
        "mongodb+srv://a:",
        "@h/",
        "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----",
        "\\u0027",
        "\\n",
        "{",
        "[",
    ];
    let mut seed: u64 =
        std::env::var("REDACT_FUZZ_SEED").map_or(0x2545_F491_4F6C_DD1D, |v| v.parse().unwrap());
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let rounds = std::env::var("REDACT_FUZZ_ROUNDS").map_or(3000, |v| v.parse().unwrap());
    for _ in 0..rounds {
        let n = 2 + next() % 10;
        let text: String = (0..n)
            .map(|_| parts[(next() % parts.len() as u64) as usize])
            .collect();
        let key = parts[(next() % parts.len() as u64) as usize];
        let doc = json!({ key: text.clone(), "nested": json!({ "cmd": text.clone() }).to_string(), "n": 1 })
            .to_string();
        let out = redact(&doc);
        assert!(
            serde_json::from_str::<Value>(&out).is_ok(),
            "{doc}\n→ {out}"
        );
        assert_eq!(redact(&out), out, "idempotent: {doc}");
    }
}

#[test]
fn not_utf8_bytes_are_redacted_around_the_invalid_bytes() {
    let mut raw =
        b"{\"prompt\":\"caf\xe9 password=hunter22 \xffghp_abcdefghijklmnopqrstuvwxyz0123".to_vec();
    raw.extend_from_slice(b" token=abc\xfedef sk_live_51HqLyjWDarjtT1zdp7dc\xc3\"}");
    let out = redact_bytes(&raw);
    let lossy = String::from_utf8_lossy(&out);
    for secret in ["hunter22", "ghp_abc", "abc", "def", "51HqLyjWDarjtT1zdp7dc"] {
        assert!(!lossy.contains(secret), "{secret} kept in {lossy}");
    }
    // The invalid bytes and everything else are kept as they were.
    assert!(out.starts_with(b"{\"prompt\":\"caf\xe9 password=[REDACTED] \xff[REDACTED] token=[REDACTED] [REDACTED]\xc3\"}"), "{lossy}");
    // Clean bytes are borrowed; valid UTF-8 goes the text path.
    assert!(matches!(redact_bytes(b"caf\xe9 au lait"), Cow::Borrowed(_)));
    assert_eq!(&*redact_bytes(b"password=hunter22"), b"password=[REDACTED]");
}

#[test]
fn keys_after_json_escapes_are_keys() {
    // `\n` and `\u0027` end in a word character, yet the key after them starts a token.
    let raw = r#"{"e":"Exit 1\nsecret=abc123\nghp_abcdefghijklmnopqrstuvwxyz0123\u0027sk_live_51HqLyjWDarjtT1zdp7dc\n--password hunter22\tAuthorization: Bearer abc123def"}"#;
    assert_eq!(
        redact(raw),
        r#"{"e":"Exit 1\nsecret=[REDACTED]\n[REDACTED]\u0027[REDACTED]\n--password [REDACTED]\tAuthorization: Bearer [REDACTED]"}"#
    );
    // A name right after a character that is not ASCII is still a name.
    assert_eq!(
        redact("éFOO_TOKEN=abc123 ñghp_abcdefghijklmnopqrstuvwxyz0123"),
        "éFOO_TOKEN=[REDACTED] ñ[REDACTED]"
    );
}

#[test]
fn real_payloads_never_wake_a_regex() {
    // Every hook payload and transcript line Claude Code 2.1.330 recorded in the fixtures: none
    // holds a secret, so no rule's trigger may fire (the hot path stays regex-free).
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330");
    let mut texts = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "json" || x == "jsonl") {
                texts.extend(
                    std::fs::read_to_string(&p)
                        .unwrap()
                        .lines()
                        .map(|l| (p.clone(), l.to_string())),
                );
            }
        }
    }
    assert!(texts.len() > 100);
    for (path, text) in &texts {
        let scan = Scan::new(text);
        for rule in rules::RULES.iter() {
            assert!(
                !rule.trigger.fires(&scan),
                "{} wakes {:?}: {text}",
                path.display(),
                rule.kind
            );
        }
    }
}

#[test]
fn every_kind_is_documented() {
    let doc = include_str!("../../docs/events.md");
    for kind in kinds() {
        assert!(doc.contains(kind), "docs/events.md does not list {kind:?}");
    }
}
