//! Secrets of every kind the redactor knows, sent through the real hook binaries — in prompts,
//! Agent inputs, Bash commands, tool errors, a subagent transcript and its sidecar, a payload
//! that is not UTF-8 (quarantined), payloads written while the database is unavailable (spooled)
//! and a payload whose spool write fails too (logged) — and then not one secret value may occur
//! in the raw bytes of the database, its WAL, the spool files or the hook log.

use crate::common::Env;
use serde_json::json;
use std::path::{Path, PathBuf};

/// (kind, text as a user or tool would write it, fragments that must never be stored).
const SECRETS: &[(&str, &str, &[&str])] = &[
    ("anthropic", "use sk-ant-api03-Xq7vLm2Pn8Rs5Vw1Xy3Bc6Df0Gh7Jk4L-AbCdEfGh now", &["Xq7vLm2Pn8Rs5Vw1Xy3Bc6Df0Gh7Jk4L"]),
    ("openai", "OPENAI key sk-proj-Tz9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbNm", &["Tz9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0L"]),
    ("github", "clone with ghp_R4nd0mGitHubT0kenValue1234567890ab", &["R4nd0mGitHubT0kenValue1234567890ab"]),
    ("github fine-grained", "github_pat_11ABCDEFG0_R4nd0mFineGrainedT0kenValue9876543210abcdefXYZ", &["R4nd0mFineGrainedT0kenValue"]),
    ("aws access key id", "key id AKIAZ7VQX3TESTKEY1D2 here", &["AKIAZ7VQX3TESTKEY1D2"]),
    ("slack", "xoxb-123456789012-1234567890123-SlAcKb0tT0kenValue42", &["SlAcKb0tT0kenValue42"]),
    ("slack webhook", "post to https://hooks.slack.com/services/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z", &["SlackHookSecretPart789xyz"]),
    ("google api key", "maps key AIzaSyD-R4nd0mGoogleApiKeyValue12345678", &["R4nd0mGoogleApiKeyValue12345678"]),
    ("google oauth token", "ya29.a0AfH6SMBR4nd0mGoogleAccessT0ken_value", &["R4nd0mGoogleAccessT0ken"]),
    ("google oauth client secret", "GOCSPX-R4nd0mClientSecretVal_123", &["R4nd0mClientSecretVal_123"]),
    ("jwt", "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqd3RTdWJqZWN0In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", &["SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "eyJzdWIiOiJqd3RTdWJqZWN0In0"]),
    ("bearer", "curl -H 'Authorization: Bearer BearerT0kenValue.abc-123' https://api", &["BearerT0kenValue"]),
    ("basic auth header", "curl -H 'Authorization: Basic YWRtaW46YmFzaWNQYXNzd29yZDE=' https://api", &["YWRtaW46YmFzaWNQYXNzd29yZDE"]),
    ("basic auth bare", "the proxy sent Basic dXNlcjpiYXJlQmFzaWNQYXNzMg== back", &["dXNlcjpiYXJlQmFzaWNQYXNzMg"]),
    ("stripe live", "charge with sk_live_51StripeLiveSecretKeyValue0001", &["StripeLiveSecretKeyValue0001"]),
    ("stripe restricted", "rk_live_51StripeRestrictedKeyValue002", &["StripeRestrictedKeyValue002"]),
    ("stripe test", "STRIPE=sk_test_51StripeTestSecretKeyValue0003", &["StripeTestSecretKeyValue0003"]),
    ("stripe webhook", "whsec_StripeWebhookSigningSecret0004", &["StripeWebhookSigningSecret0004"]),
    ("aws secret env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYAwsEnvSecret1 aws s3 ls", &["wJalrXUtnFEMI/K7MDENG/bPxRfiCYAwsEnvSecret1", "AwsEnvSecret1"]),
    ("aws secret ini", "[default]\naws_access_key_id = AKIAZ7VQX3TESTKEY1D3\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCoAwsIniSecret2\naws_session_token = AwsIniSessionToken2b\n", &["AKIAZ7VQX3TESTKEY1D3", "AwsIniSecret2", "AwsIniSessionToken2b"]),
    ("aws secret json", r#"{"AccessKeyId": "ASIAZ7VQX3TESTKEY1D4", "SecretAccessKey": "Zh4Tq9kLm2Pn8Rs5Vw1Xy3AwsJsonSecret3", "SessionToken": "FwoGZXIvYXdzAwsSessionTokenValue4"}"#, &["ASIAZ7VQX3TESTKEY1D4", "AwsJsonSecret3", "AwsSessionTokenValue4"]),
    ("pgpassword", "PGPASSWORD=PgPasswordValue5 psql -h db -U app", &["PgPasswordValue5"]),
    ("mysql_pwd", "MYSQL_PWD='MysqlPwdValue6' mysql -u root", &["MysqlPwdValue6"]),
    ("postgres url", "psql postgres://app:PgUrlPassword7@db.internal:5432/app", &["PgUrlPassword7"]),
    ("mysql url", "DATABASE_URL=mysql://root:MysqlUrlPassword8@localhost/shop", &["MysqlUrlPassword8"]),
    ("mongodb+srv url", "mongodb+srv://admin:MongoUrlPassword9@cluster0.ab1cd.mongodb.net/test?retryWrites=true", &["MongoUrlPassword9"]),
    ("redis url", "redis://:RedisUrlPassword10@cache:6379/0", &["RedisUrlPassword10"]),
    ("azure storage connection string", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AzureAccountKeyValue11+abc/def==;EndpointSuffix=core.windows.net", &["AzureAccountKeyValue11"]),
    ("azure sas url", "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&sp=r&se=2030-01-01T00:00:00Z&sig=AzureSasSignatureValue12%2Bxyz%3D", &["AzureSasSignatureValue12"]),
    ("azure service bus", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=AzureSharedAccessKeyValue13=", &["AzureSharedAccessKeyValue13"]),
    ("azure sas connection string", "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=o&sp=r&spr=AzureSasConnPart14&sig=AzureSasConnSig14%3D", &["AzureSasConnPart14", "AzureSasConnSig14"]),
    ("azure ad client secret", "client secret Abc8Q~AzureAdClientSecretValue15abcdefgh for the app", &["AzureAdClientSecretValue15"]),
    ("gcp service account", "{\n  \"type\": \"service_account\",\n  \"project_id\": \"proj\",\n  \"private_key_id\": \"GcpPrivateKeyId16abcdef0123456789abcdef\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANGcpPemBodyLine17abc\\nGcpPemBodyLine17def==\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"sa@proj.iam.gserviceaccount.com\"\n}", &["GcpPrivateKeyId16", "GcpPemBodyLine17"]),
    ("npm token", "npm_NpmAccessTokenValue18abcdefghijklmno", &["NpmAccessTokenValue18"]),
    ("npmrc auth token", "//registry.npmjs.org/:_authToken=NpmrcAuthTokenValue19", &["NpmrcAuthTokenValue19"]),
    ("pypi token", "twine upload -p pypi-AgEIcHlwaS5vcmcCJDPyPiTokenValue20abcdefghijklmnopqrstuvwxyz0123456789", &["PyPiTokenValue20"]),
    ("twilio api key", "twilio key SKfeedfacecafebeef0123456789abcdef", &["feedfacecafebeef0123456789abcdef"]),
    ("twilio auth token", "TWILIO_AUTH_TOKEN=9f8e7d6c5b4a39281706f5e4d3c2b1a0", &["9f8e7d6c5b4a39281706f5e4d3c2b1a0"]),
    ("sendgrid", "SG.SendGridKeyId21abcdefg.SendGridSecretPart21abcdefghijklmnopqrstuvwxyz0123456", &["SendGridKeyId21", "SendGridSecretPart21"]),
    ("hugging face", "hf_HuggingFaceTokenValueTwentyTwoAbCdEf", &["HuggingFaceTokenValueTwentyTwo"]),
    ("gitlab", "glpat-GitLabTokenValue23abcd", &["GitLabTokenValue23"]),
    ("generic api_key=", "api_key=GenericApiKeyValue24", &["GenericApiKeyValue24"]),
    ("generic JSON api_key", r#"{"api_key": "JsonApiKeyValue25", "timeout": 5}"#, &["JsonApiKeyValue25"]),
    ("env FOO_API_KEY", "export FOO_API_KEY=EnvApiKeyValue26", &["EnvApiKeyValue26"]),
    ("env FOO_TOKEN", "FOO_TOKEN=EnvTokenValue27 ./run.sh", &["EnvTokenValue27"]),
    ("env FOO_SECRET", "FOO_SECRET=\"EnvSecretValue28 with spaces\"", &["EnvSecretValue28", "with spaces"]),
    ("secret=", "secret=PlainSecretValue29", &["PlainSecretValue29"]),
    ("token=", "token=PlainTokenValue30", &["PlainTokenValue30"]),
    ("password=", "password=PlainPasswordValue31", &["PlainPasswordValue31"]),
    ("--password flag", "mysql --password MysqlFlagPassword32 -e 'select 1'", &["MysqlFlagPassword32"]),
    ("yaml password", "db:\n  host: x\n  password: YamlPasswordValue33\n", &["YamlPasswordValue33"]),
    ("pem rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEARsaPemBody34aa\nRsaPemBody34bb==\n-----END RSA PRIVATE KEY-----\n", &["RsaPemBody34"]),
    ("pem ec", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIEcPemBody35aa\n-----END EC PRIVATE KEY-----", &["EcPemBody35"]),
    ("pem dsa", "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQDsaPemBody36aa\n-----END DSA PRIVATE KEY-----", &["DsaPemBody36"]),
    ("pem openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEOpensshPemBody37aa\n-----END OPENSSH PRIVATE KEY-----", &["OpensshPemBody37"]),
    ("pem encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wEncPemBody38aa\n-----END ENCRYPTED PRIVATE KEY-----", &["EncPemBody38"]),
    ("pem pkcs8", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0Pkcs8PemBody39aa\n-----END PRIVATE KEY-----", &["Pkcs8PemBody39"]),
    ("pem legacy encrypted rsa", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF\n\nLegacyEncPemBody40aa\n-----END RSA PRIVATE KEY-----", &["LegacyEncPemBody40"]),
    ("pgp private key block", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBGPgpKeyBody41aa\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----", &["PgpKeyBody41"]),
    ("pem truncated", "here is my key -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAATruncatedPemBody42aa\nTruncatedPemBody42bb", &["TruncatedPemBody42"]),
];

/// Secrets only sent through the other paths (non-UTF-8, spool, log, transcript).
const PATH_SECRETS: &[&str] = &[
    "InvalidUtf8Secret50",
    "InvalidUtf8Stripe51",
    "SpooledSecret52",
    "SpooledInvalidUtf8Secret53",
    "ArgumentSecret54",
    "LoggedSecret55",
    "TranscriptSecret56",
    "SidecarSecret57",
    "NotJsonSecret58",
];

fn all_needles() -> Vec<&'static str> {
    SECRETS
        .iter()
        .flat_map(|(_, _, n)| n.iter().copied())
        .chain(PATH_SECRETS.iter().copied())
        .collect()
}

/// Runs a hook with TMPDIR pointed at `tmp` (the fallback spool lives there) and checks the
/// hook contract: exit 0, nothing on stdout.
fn hook(env: &Env, tmp: &Path, bin: &str, args: &[&str], stdin: &[u8]) {
    let out = env.run_env(bin, args, stdin, &[("TMPDIR", tmp.to_str().unwrap())]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "{bin} printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Every file under `dirs`, with its bytes.
fn snapshot(dirs: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out
}

fn find_leaks(files: &[(PathBuf, Vec<u8>)], needles: &[&str]) -> Vec<String> {
    let mut leaks = Vec::new();
    for (path, bytes) in files {
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                leaks.push(format!("{n} in {}", path.display()));
            }
        }
    }
    leaks
}

/// One Claude Code hook payload carrying `text`, in one of four places a secret arrives in.
fn payload(i: usize, text: &str) -> (&'static str, String) {
    let base = json!({
        "session_id": "redact-session", "transcript_path": "/nonexistent/redact-session.jsonl",
        "cwd": "/p", "permission_mode": "bypassPermissions", "prompt_id": "p1",
    });
    let mut v = base;
    let o = v.as_object_mut().unwrap();
    let bin = match i % 4 {
        0 => {
            o.insert("hook_event_name".into(), json!("UserPromptSubmit"));
            o.insert("prompt".into(), json!(text));
            "workflow-event"
        }
        1 => {
            o.insert("hook_event_name".into(), json!("PreToolUse"));
            o.insert("tool_name".into(), json!("Agent"));
            o.insert("tool_use_id".into(), json!(format!("toolu_r{i}")));
            o.insert(
                "tool_input".into(),
                json!({"description": "deploy", "prompt": text, "subagent_type": "devops"}),
            );
            "subagent-start"
        }
        2 => {
            o.insert("hook_event_name".into(), json!("PostToolUseFailure"));
            o.insert("tool_name".into(), json!("Bash"));
            o.insert("tool_use_id".into(), json!(format!("toolu_r{i}")));
            o.insert("tool_input".into(), json!({"command": "./deploy.sh"}));
            o.insert("error".into(), json!(format!("Exit code 1\n{text}")));
            "subagent-stop"
        }
        _ => {
            o.insert("hook_event_name".into(), json!("PreToolUse"));
            o.insert("tool_name".into(), json!("Bash"));
            o.insert("tool_use_id".into(), json!(format!("toolu_r{i}")));
            o.insert("tool_input".into(), json!({"command": text}));
            "subagent-start"
        }
    };
    (bin, v.to_string())
}

#[test]
fn no_secret_reaches_the_database_wal_spool_or_log() {
    let env = Env::new();
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let data = env.db().parent().unwrap().to_path_buf();
    let watched = [data.clone(), tmp.clone()];
    let needles = all_needles();
    let mut leaks = Vec::new();

    // One payload per kind, in prompts, Agent inputs, tool errors and Bash commands.
    for (i, (_, text, _)) in SECRETS.iter().enumerate() {
        let (bin, p) = payload(i, text);
        hook(&env, &tmp, bin, &[], p.as_bytes());
    }
    // A service-account key as a JSON object inside the payload (one level of escaping).
    let sa: serde_json::Value = serde_json::from_str(
        SECRETS
            .iter()
            .find(|s| s.0 == "gcp service account")
            .unwrap()
            .1,
    )
    .unwrap();
    let p = json!({"session_id": "redact-session", "hook_event_name": "PreToolUse", "tool_name": "Write",
        "tool_use_id": "toolu_sa", "tool_input": {"file_path": "/p/sa.json", "content": sa}});
    hook(&env, &tmp, "subagent-start", &[], p.to_string().as_bytes());

    // A subagent transcript whose API error and sidecar description carry secrets.
    let tdir = env.dir.path().join("transcripts/redact-session/subagents");
    std::fs::create_dir_all(&tdir).unwrap();
    let tpath = tdir.join("agent-aredact01.jsonl");
    let line = json!({"type": "assistant", "isSidechain": true, "agentId": "aredact01", "sessionId": "redact-session",
        "timestamp": "2026-01-01T00:00:00Z", "isApiErrorMessage": true,
        "message": {"id": "m1", "model": "<synthetic>", "role": "assistant",
            "content": [{"type": "text", "text": "API Error: 401 invalid x-api-key: TranscriptSecret56 (sk_live_51TranscriptSecret56)"}]}});
    std::fs::write(&tpath, format!("{line}\n")).unwrap();
    std::fs::write(
        tdir.join("agent-aredact01.meta.json"),
        json!({"agentType": "devops", "description": "deploy with password=SidecarSecret57", "toolUseId": "toolu_r1"}).to_string(),
    )
    .unwrap();
    let stop = json!({"session_id": "redact-session", "transcript_path": env.dir.path().join("transcripts/redact-session.jsonl"),
        "cwd": "/p", "hook_event_name": "SubagentStop", "agent_id": "aredact01", "agent_type": "devops",
        "agent_transcript_path": tpath});
    hook(
        &env,
        &tmp,
        "subagent-stop",
        &[],
        stop.to_string().as_bytes(),
    );
    let summary: String = env
        .conn()
        .query_row(
            "SELECT payload FROM events WHERE kind = 'transcript_summary' AND agent_id = 'aredact01'",
            [],
            |r| r.get(0),
        )
        .expect("the transcript was read");
    assert!(summary.contains("password=[REDACTED]"), "{summary}");

    // Not JSON: quarantined as text.
    hook(
        &env,
        &tmp,
        "workflow-event",
        &[],
        b"not json at all token=NotJsonSecret58 {",
    );
    // Not UTF-8: quarantined with its bytes.
    let mut bad =
        br#"{"hook_event_name":"UserPromptSubmit","session_id":"redact-session","prompt":"caf"#
            .to_vec();
    bad.push(0xE9); // Latin-1 é: not UTF-8
    bad.extend_from_slice(
        b" password=InvalidUtf8Secret50 and sk_live_51InvalidUtf8Stripe51\xff\"}",
    );
    hook(&env, &tmp, "workflow-event", &[], &bad);
    let raw: Vec<u8> = env
        .conn()
        .query_row(
            "SELECT raw FROM quarantine WHERE reason = 'payload is not UTF-8'",
            [],
            |r| r.get(0),
        )
        .expect("quarantined");
    assert!(
        raw.windows(4).any(|w| w == b"caf\xe9") && raw.ends_with(b"[REDACTED]\xff\"}"),
        "bytes kept, secrets not: {}",
        String::from_utf8_lossy(&raw)
    );
    leaks.extend(find_leaks(&snapshot(&watched), &needles)); // the WAL, before any checkpoint

    // The database becomes unavailable (a directory where its file should be): payloads spool.
    let conn = env.conn();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    leaks.extend(find_leaks(&snapshot(&watched), &needles)); // the database file itself
    let db = env.db();
    let moved = db.with_extension("moved");
    std::fs::rename(&db, &moved).unwrap();
    std::fs::create_dir(&db).unwrap();
    let (bin, p) = payload(1, "deploy with api_key=SpooledSecret52");
    hook(&env, &tmp, bin, &[], p.as_bytes());
    let mut bad = b"{\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"\xff AWS_SECRET_ACCESS_KEY=SpooledInvalidUtf8Secret53\"}".to_vec();
    bad.push(b'\n');
    hook(&env, &tmp, "workflow-event", &[], &bad);
    // An argument the hook cannot parse is logged, and spooled with the payload.
    let (bin, p) = payload(3, "ls");
    hook(
        &env,
        &tmp,
        bin,
        &["PGPASSWORD=ArgumentSecret54"],
        p.as_bytes(),
    );
    let spool = data.join("telemetry.db.spool.jsonl");
    let spooled = std::fs::read_to_string(&spool)
        .expect("payloads spooled while the database is unavailable");
    assert_eq!(spooled.lines().count(), 3, "{spooled}");
    assert!(
        spooled.contains(r#""args":["PGPASSWORD=[REDACTED]"]"#),
        "{spooled}"
    );
    leaks.extend(find_leaks(&snapshot(&watched), &needles));

    // The spool fails too (its path is a directory, the fallback's parent is a file): the
    // payload goes to the log.
    let saved = spool.with_extension("saved");
    std::fs::rename(&spool, &saved).unwrap();
    std::fs::create_dir(&spool).unwrap();
    let blocked = env.dir.path().join("blocked");
    std::fs::write(&blocked, b"a file").unwrap();
    let (bin, p) = payload(0, "my token=LoggedSecret55");
    let out = env.run_env(
        bin,
        &[],
        p.as_bytes(),
        &[("TMPDIR", blocked.join("tmp").to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0));
    let log = std::fs::read_to_string(data.join("hook.log")).expect("hook.log");
    assert!(log.contains("spool failed"), "{log}");
    assert!(log.contains("ignored arguments"), "{log}");
    assert!(
        log.contains("PGPASSWORD=[REDACTED]") && log.contains("token=[REDACTED]"),
        "{log}"
    );
    leaks.extend(find_leaks(&snapshot(&watched), &needles));

    // Back to normal: the next hook replays the spool into the database.
    std::fs::remove_dir(&spool).unwrap();
    std::fs::rename(&saved, &spool).unwrap();
    std::fs::remove_dir(&db).unwrap();
    std::fs::rename(&moved, &db).unwrap();
    let (bin, p) = payload(0, "all good");
    hook(&env, &tmp, bin, &[], p.as_bytes());
    assert!(!spool.exists(), "spool replayed");
    leaks.extend(find_leaks(&snapshot(&watched), &needles));
    env.analyze_json(&["summary"]);
    let conn = env.conn();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    let end = snapshot(&watched);
    leaks.extend(find_leaks(&end, &needles));

    leaks.sort();
    leaks.dedup();
    assert!(
        leaks.is_empty(),
        "secrets stored in clear:\n{}",
        leaks.join("\n")
    );
    let db_bytes = &end.iter().find(|(p, _)| *p == env.db()).unwrap().1;
    assert!(
        db_bytes.windows(10).any(|w| w == b"[REDACTED]"),
        "the database holds the redaction markers"
    );
    // Every kind arrived as an event or in quarantine (nothing dropped).
    assert!(env.count("SELECT count(*) FROM events") > SECRETS.len() as i64);
}
