//! Linux-PAM's stack evaluation (libpam/pam_dispatch.c `_pam_dispatch_aux`, for a stack
//! that is not replayed from a cache: account and open_session), over predicted module
//! results. Controls are parsed as pam_handlers.c does: the four keywords expand to
//! their `[value=action]` equivalents; an unset default is `bad`.

use crate::facts::PamLine;

/// A PAM return value, by its name in `[value=action]` syntax.
pub type ReturnValue = &'static str;

pub const SUCCESS: ReturnValue = "success";
pub const IGNORE: ReturnValue = "ignore";
/// PAM_MUST_FAIL_CODE: what a line installed to fail returns.
pub const PERM_DENIED: ReturnValue = "perm_denied";
pub const MODULE_UNKNOWN: ReturnValue = "module_unknown";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Ignore,
    Ok,
    Done,
    Bad,
    Die,
    Reset,
    Jump(u32),
}

fn parse_action(word: &str) -> Option<Action> {
    Some(match word {
        "ignore" => Action::Ignore,
        "ok" => Action::Ok,
        "done" => Action::Done,
        "bad" => Action::Bad,
        "die" => Action::Die,
        "reset" => Action::Reset,
        jump => Action::Jump(jump.parse().ok().filter(|n| *n > 0)?),
    })
}

/// The action a control takes for a return value.
fn action(control: &str, value: ReturnValue) -> Action {
    let keyword = |success: Action, ignore: Option<Action>, default: Action| {
        if value == SUCCESS || value == "new_authtok_reqd" {
            success
        } else if value == IGNORE && ignore.is_some() {
            ignore.unwrap_or(default)
        } else {
            default
        }
    };
    match control.to_ascii_lowercase().as_str() {
        "required" => keyword(Action::Ok, Some(Action::Ignore), Action::Bad),
        "requisite" => keyword(Action::Ok, Some(Action::Ignore), Action::Die),
        "optional" => keyword(Action::Ok, None, Action::Ignore),
        "sufficient" => keyword(Action::Done, None, Action::Ignore),
        bracketed => {
            let inner = bracketed
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or_default();
            let mut default = Action::Bad;
            let mut chosen = None;
            for pair in inner.split_whitespace() {
                let Some((name, act)) = pair.split_once('=') else {
                    continue;
                };
                let Some(act) = parse_action(act) else {
                    continue;
                };
                if name == value {
                    chosen = Some(act);
                } else if name == "default" {
                    default = act;
                }
            }
            chosen.unwrap_or(default)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impression {
    Undefined,
    Positive,
    Negative,
}

/// How a stack ended for one set of module results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub granted: bool,
    /// The handler whose result made the stack fail: the first `bad`, a `die`, a bad
    /// jump. None when it failed because no module granted anything.
    pub decided_by: Option<usize>,
}

/// Runs `stack` with `result(index)` as each module's return value.
pub fn dispatch(stack: &[PamLine], result: impl Fn(usize) -> ReturnValue) -> Outcome {
    let mut impression = Impression::Undefined;
    let mut status = PERM_DENIED;
    let mut decided_by = None;
    // (impression, status) on entering each substack level, for `reset`.
    let mut saved = vec![(Impression::Undefined, PERM_DENIED); 1];
    let mut previous_level = 0;
    let mut index = 0;
    while index < stack.len() {
        let line = &stack[index];
        let level = line.depth as usize;
        if saved.len() <= level {
            saved.resize(level + 1, (Impression::Undefined, PERM_DENIED));
        }
        if previous_level < level {
            saved[level] = (impression, status);
        }
        previous_level = level;
        if line.substack {
            index += 1;
            continue;
        }
        let value = result(index);
        let mut decided = false;
        match action(&line.control, value) {
            Action::Reset => (impression, status) = saved[level],
            act @ (Action::Ok | Action::Done) => {
                if impression == Impression::Undefined
                    || (impression == Impression::Positive && status == SUCCESS)
                {
                    impression = Impression::Positive;
                    status = value;
                }
                decided = impression == Impression::Positive && act == Action::Done;
            }
            act @ (Action::Bad | Action::Die) => {
                if impression != Impression::Negative {
                    impression = Impression::Negative;
                    status = if value == IGNORE { PERM_DENIED } else { value };
                    decided_by = Some(index);
                }
                decided = act == Action::Die;
            }
            Action::Ignore => {}
            Action::Jump(count) => {
                let mut left = count;
                while left > 0
                    && index + 1 < stack.len()
                    && stack[index + 1].depth as usize >= level
                {
                    index += 1;
                    while index + 1 < stack.len() && stack[index + 1].depth as usize > level {
                        index += 1;
                    }
                    left -= 1;
                }
                if left > 0 {
                    // "bad jump in stack": it cannot succeed.
                    impression = Impression::Negative;
                    status = PERM_DENIED;
                    decided_by.get_or_insert(index);
                }
            }
        }
        if decided {
            while index + 1 < stack.len() && stack[index + 1].depth as usize >= level {
                index += 1;
            }
        }
        index += 1;
    }
    Outcome {
        granted: impression == Impression::Positive && status == SUCCESS,
        decided_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(control: &str, module: &str, depth: u32) -> PamLine {
        PamLine {
            source: format!("test:{module}"),
            text: format!("account {control} {module}"),
            depth,
            control: control.into(),
            module: module.into(),
            args: Vec::new(),
            module_exists: Some(true),
            substack: false,
            must_fail: None,
        }
    }

    /// pam_deny fails, everything else succeeds.
    fn run(stack: &[PamLine]) -> Outcome {
        dispatch(stack, |index| {
            if stack[index].module == "pam_deny.so" {
                "acct_expired"
            } else {
                SUCCESS
            }
        })
    }

    #[test]
    fn debians_common_account_jumps_over_pam_deny() {
        let stack = [
            line("required", "pam_nologin.so", 0),
            line(
                "[success=1 new_authtok_reqd=done default=ignore]",
                "pam_unix.so",
                0,
            ),
            line("requisite", "pam_deny.so", 0),
            line("required", "pam_permit.so", 0),
        ];
        assert!(run(&stack).granted);
    }

    #[test]
    fn a_requisite_pam_deny_after_the_jump_refuses_and_is_named() {
        let stack = [
            line("[success=1 default=ignore]", "pam_unix.so", 0),
            line("requisite", "pam_deny.so", 0),
            line("required", "pam_permit.so", 0),
            line("requisite", "pam_deny.so", 0),
            line("required", "pam_permit.so", 0),
        ];
        let outcome = run(&stack);
        assert!(!outcome.granted);
        assert_eq!(outcome.decided_by, Some(3));
    }

    #[test]
    fn sufficient_success_ends_the_stack_before_a_deny() {
        let stack = [
            line("sufficient", "pam_permit.so", 0),
            line("required", "pam_deny.so", 0),
        ];
        assert!(run(&stack).granted);
        // A failure recorded before `sufficient` is not undone by it.
        let stack = [
            line("required", "pam_deny.so", 0),
            line("sufficient", "pam_permit.so", 0),
        ];
        assert_eq!(run(&stack).decided_by, Some(0));
    }

    #[test]
    fn only_ignored_modules_grant_nothing() {
        let stack = [line("optional", "pam_deny.so", 0)];
        let outcome = run(&stack);
        assert!(!outcome.granted);
        assert_eq!(outcome.decided_by, None);
    }

    #[test]
    fn a_die_in_a_substack_ends_the_substack_only_but_still_fails() {
        let mut head = line("substack", "", 0);
        head.substack = true;
        let stack = [
            head,
            line("requisite", "pam_deny.so", 1),
            line("required", "pam_permit.so", 1),
            line("required", "pam_permit.so", 0),
        ];
        let outcome = run(&stack);
        assert!(!outcome.granted);
        assert_eq!(outcome.decided_by, Some(1));
    }

    #[test]
    fn a_jump_past_the_end_fails() {
        let stack = [line("[success=3 default=ignore]", "pam_permit.so", 0)];
        assert!(!run(&stack).granted);
    }
}
