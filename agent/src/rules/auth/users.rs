//! The account: does it exist, is it locked or expired, is its shell usable, is its
//! home there (SSH-USR; auth.c allowed_user and PAM's account checks).

use super::is_yes;
use crate::facts::{
    Account, AuthFacts, FileKind, PasswordState, ShadowEntry, Unanswered, UserAuth, UserRole,
};
use crate::rules::{Draft, RuleId, Severity};

pub(super) fn user_missing(user: &UserAuth) -> Draft {
    let why = match user.role {
        UserRole::Provisioned => "the VM was provisioned with this admin user",
        _ => "named with --user",
    };
    Draft::new(RuleId::UserMissing)
        .var("user", user.name.clone())
        .evidence(
            format!("getpwnam(\"{}\") found no such user; {why}", user.name),
            Some("/etc/passwd".into()),
        )
}

/// Account expiry, the lock, and password ageing, each the way sshd or PAM applies it.
pub(super) fn check_account(
    auth: &AuthFacts,
    user: &UserAuth,
    account: &Account,
    findings: &mut Vec<Draft>,
) {
    let Some(shadow) = &account.shadow else {
        return;
    };
    let use_pam = is_yes(&user.settings, "usepam");
    let today = auth.today_days;
    if let Some(expire) = shadow.expire.filter(|expire| *expire >= 0) {
        // pam_unix: expired from the day itself; auth-shadow.c: from the day after.
        let expired = if use_pam {
            today >= expire
        } else {
            today > expire
        };
        if expired {
            findings.push(
                Draft::new(RuleId::AccountExpired)
                    .var("user", user.name.clone())
                    .evidence(
                        format!(
                            "/etc/shadow field 8 (account expiry): day {expire} ({}); today is day {today}",
                            date_of(expire)
                        ),
                        Some("/etc/shadow".into()),
                    ),
            );
        }
    }
    if !use_pam && shadow.password == PasswordState::Locked {
        // usermod -U where a password is behind the lock; else "*": keys, no password.
        let unlock = match shadow.hash_behind_lock {
            true => "unlock_user",
            false => "no_password_user",
        };
        findings.push(
            Draft::new(RuleId::AccountLocked)
                .var(unlock, user.name.clone())
                .var("user", user.name.clone())
                .evidence(
                    "/etc/shadow password field starts with \"!\" (locked)",
                    Some("/etc/shadow".into()),
                )
                .evidence("UsePAM no", Some(user.settings.origin("usepam"))),
        );
    }
    if let Some(why) = password_expiry(shadow, today) {
        let inactive = why.contains("inactive");
        let finding = Draft::new(RuleId::PasswordExpired)
            .var("user", user.name.clone())
            .var("today", date_of(today))
            .evidence(why, Some("/etc/shadow".into()));
        findings.push(match (inactive && use_pam, use_pam) {
            (true, _) => finding.severity(Severity::Critical),
            (false, true) => finding,
            (false, false) => finding.severity(Severity::Info),
        });
    }
}

/// pam_unix check_shadow_expiry: a forced change (last change 0), an aged password, and
/// one aged past its inactivity period (the account is then refused).
pub(super) fn password_expiry(shadow: &ShadowEntry, today: i64) -> Option<String> {
    let last = shadow.last_change?;
    if last == 0 {
        return Some("/etc/shadow field 3 is 0: the password must be changed at next login".into());
    }
    let max = shadow.max_days.filter(|max| *max >= 0)?;
    let age = today - last;
    if age <= max {
        return None;
    }
    match shadow.inactive_days.filter(|inactive| *inactive >= 0) {
        Some(inactive) if age > max + inactive => Some(format!(
            "password changed {age} days ago, maximum {max}, inactive after {inactive} more: the account is inactive"
        )),
        _ => Some(format!(
            "password changed {age} days ago, maximum age {max} days: it must be changed at login"
        )),
    }
}

/// Day number to YYYY-MM-DD (civil from days, Howard Hinnant's algorithm).
pub(super) fn date_of(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The account or its home did not answer: a hung mount, or a directory service that
/// does not reply. Unmounting (-f aborts the requests already waiting, -l detaches it)
/// is the fix for a mount; for NSS the check is all that can be said.
pub(super) fn unanswered(user: &UserAuth, unanswered: &Unanswered) -> Draft {
    let hung_mount = unanswered.mount.as_ref().filter(|mount| mount.may_hang());
    let (cause, fix, check) = match hung_mount {
        Some(mount) => (
            format!(
                "{} is a {} mount, and its server or daemon ({}) does not reply",
                mount.point,
                mount.fs_type,
                mount.source.as_deref().unwrap_or("unnamed")
            ),
            format!("umount -f -l {}", mount.point),
            format!("findmnt {}", mount.point),
        ),
        None => (
            "the name service (NSS: LDAP, SSSD) or a file on the way does not reply".into(),
            format!("timeout 5 getent passwd {}", user.name),
            "grep -E '^(passwd|group):' /etc/nsswitch.conf".into(),
        ),
    };
    let waited = format!("{:.1} s", unanswered.waited_ms as f64 / 1000.0);
    Draft::new(RuleId::HomeUnanswered)
        .var("user", user.name.clone())
        .var("what", unanswered.what.clone())
        .var("waited", waited)
        .var("cause", cause)
        .var("fix", fix)
        .var("check", check)
        .evidence(
            unanswered.describe(),
            Some("/proc/self/mountinfo".into()).filter(|_| hung_mount.is_some()),
        )
}

/// allowed_user: the shell must exist and be executable unless sshd chroots.
pub(super) fn check_shell(
    user: &UserAuth,
    account: &Account,
    login_shell: &Option<String>,
    findings: &mut Vec<Draft>,
) {
    let chroots = user
        .settings
        .first("chrootdirectory")
        .is_some_and(|dir| !dir.eq_ignore_ascii_case("none"));
    let stat = &account.shell_stat;
    let problem = match stat.kind {
        _ if chroots => return,
        FileKind::Missing => "does not exist",
        FileKind::File if stat.mode.is_some_and(|mode| mode & 0o111 != 0) => return,
        _ => "is not executable",
    };
    let mut finding = Draft::new(RuleId::ShellUnusable);
    if let Some(shell) = login_shell {
        finding = finding.var("login_shell", shell.clone());
    }
    let mut finding = finding
        .var("user", user.name.clone())
        .var("shell", stat.path.clone())
        .var("problem", problem)
        .evidence(stat.describe(), Some("/etc/passwd".into()));
    if account.shell_listed == Some(false) {
        finding = finding.evidence(format!("{} is not listed in /etc/shells", stat.path), None);
    }
    findings.push(finding);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(19_723), "2024-01-01");
        assert_eq!(date_of(20_000), "2024-10-04");
    }

    #[test]
    fn password_ageing_like_pam_unix() {
        let entry = |last, max, inactive| ShadowEntry {
            password: PasswordState::Usable,
            last_change: Some(last),
            max_days: Some(max),
            inactive_days: inactive,
            expire: None,
            hash_behind_lock: false,
        };
        assert!(password_expiry(&entry(0, 99_999, None), 20_000)
            .unwrap()
            .contains("field 3 is 0"));
        assert_eq!(password_expiry(&entry(19_990, 30, None), 20_000), None);
        assert!(password_expiry(&entry(19_900, 30, None), 20_000)
            .unwrap()
            .contains("must be changed"));
        assert!(password_expiry(&entry(19_900, 30, Some(7)), 20_000)
            .unwrap()
            .contains("inactive"));
        assert_eq!(password_expiry(&entry(19_900, -1, None), 20_000), None);
    }
}
