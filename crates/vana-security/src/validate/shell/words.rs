//! The command vocabulary: programs an injection runs, split by whether the name is also an ordinary
//! word. A name that prose never uses (`whoami`, `wget`, `ifconfig`) counts on its own; a word that an
//! injection runs alone (`id`, `cat`) counts alone after a separator; any other word (`find`, `time`)
//! counts as a command only with shell-shaped arguments after it.

/// How sure a program name alone is of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A name prose never uses (`whoami`, `wget`).
    Program,
    /// A name that is also a word but that an injection runs alone (`id`, `ps`, `cat`).
    Tool,
    /// A word of prose that is also a program (`find`, `time`, `more`): a command only with arguments.
    Word,
}

/// What `name` (lowercase, without path or `.exe`) is as a program, if it is one.
pub(super) fn command(name: &[u8]) -> Option<Kind> {
    PROGRAMS.get(name)
}

/// The vocabulary, indexed by first letter.
const PROGRAMS: WordTable<Kind> = WordTable::new(VOCABULARY);

use Kind::{Program, Tool, Word};

use super::super::word_table::WordTable;

/// Whether a word that starts with `first` then `second` (lowercase ASCII letters) can be a program of
/// the vocabulary: a table of the first two letters of every name, so most words of prose are turned
/// away in one lookup.
pub(super) fn may_be_program(first: u8, second: u8) -> bool {
    match (first.wrapping_sub(b'a'), second.wrapping_sub(b'a')) {
        (row @ 0..26, column @ 0..26) => FIRST_LETTERS[usize::from(row)] & (1 << column) != 0,
        // Anything but two letters (`7z`, `apt-get`'s kin) is left to the full lookup.
        _ => true,
    }
}

/// For each first letter, a bit per second letter that some name in the vocabulary starts with.
const FIRST_LETTERS: [u32; 26] = {
    let mut table = [0u32; 26];
    let mut i = 0;
    while i < VOCABULARY.len() {
        let name = VOCABULARY[i].0;
        if name.len() >= 2 && name[0].is_ascii_lowercase() && name[1].is_ascii_lowercase() {
            table[(name[0] - b'a') as usize] |= 1 << (name[1] - b'a');
        }
        i += 1;
    }
    table
};

/// The vocabulary, sorted by name (a test checks the order). Programs prose never
/// names: identity, system and network reconnaissance, transfer tools and remote shells, shells and
/// interpreters by their full names, file and process tools, package managers. Tools: words an
/// injection runs alone. Words: programs only with arguments.
const VOCABULARY: &[(&[u8], Kind)] = &[
    (b"7z", Program),
    (b"adduser", Program),
    (b"alias", Tool),
    (b"apk", Program),
    (b"apt", Tool),
    (b"apt-get", Program),
    (b"aria2c", Program),
    (b"arp", Program),
    (b"ash", Tool),
    (b"at", Word),
    (b"attrib", Program),
    (b"awk", Program),
    (b"base32", Program),
    (b"base64", Program),
    (b"basename", Program),
    (b"bash", Program),
    (b"bc", Tool),
    (b"bitsadmin", Program),
    (b"brew", Tool),
    (b"builtin", Word),
    (b"busybox", Program),
    (b"bzip2", Program),
    (b"cacls", Program),
    (b"cat", Tool),
    (b"cc", Tool),
    (b"certutil", Program),
    (b"chattr", Program),
    (b"chgrp", Program),
    (b"chmod", Program),
    (b"choco", Tool),
    (b"chown", Program),
    (b"chpasswd", Program),
    (b"chroot", Program),
    (b"cksum", Program),
    (b"cmd", Program),
    (b"command", Word),
    (b"copy", Word),
    (b"cp", Tool),
    (b"cpan", Program),
    (b"cron", Word),
    (b"crontab", Program),
    (b"cscript", Program),
    (b"csh", Program),
    (b"curl", Program),
    (b"cut", Word),
    (b"dash", Tool),
    (b"date", Word),
    (b"dd", Program),
    (b"del", Tool),
    (b"df", Tool),
    (b"dig", Tool),
    (b"dir", Tool),
    (b"dirname", Program),
    (b"disown", Program),
    (b"dmesg", Program),
    (b"dnf", Program),
    (b"dpkg", Program),
    (b"dsquery", Program),
    (b"du", Tool),
    (b"echo", Tool),
    (b"ed", Tool),
    (b"egrep", Program),
    (b"env", Tool),
    (b"eval", Tool),
    (b"exec", Tool),
    (b"exit", Word),
    (b"export", Word),
    (b"expr", Tool),
    (b"false", Word),
    (b"fgrep", Program),
    (b"file", Word),
    (b"find", Word),
    (b"findstr", Program),
    (b"finger", Tool),
    (b"fold", Word),
    (b"free", Word),
    (b"ftp", Word),
    (b"gawk", Program),
    (b"gcc", Tool),
    (b"gdb", Program),
    (b"gem", Tool),
    (b"getent", Program),
    (b"getfacl", Program),
    (b"gpg", Tool),
    (b"gpresult", Program),
    (b"grep", Program),
    (b"groups", Word),
    (b"gunzip", Program),
    (b"gzip", Tool),
    (b"halt", Tool),
    (b"head", Word),
    (b"hexdump", Program),
    (b"history", Word),
    (b"host", Word),
    (b"hostname", Program),
    (b"icacls", Program),
    (b"id", Tool),
    (b"iex", Program),
    (b"ifconfig", Program),
    (b"init", Word),
    (b"ip", Tool),
    (b"ipconfig", Program),
    (b"iptables", Program),
    (b"irb", Program),
    (b"java", Tool),
    (b"jjs", Program),
    (b"join", Word),
    (b"jrunscript", Program),
    (b"kill", Tool),
    (b"killall", Program),
    (b"ksh", Program),
    (b"last", Word),
    (b"less", Word),
    (b"links", Word),
    (b"ln", Tool),
    (b"locate", Word),
    (b"logout", Word),
    (b"ls", Program),
    (b"lsb_release", Program),
    (b"lsblk", Program),
    (b"lscpu", Program),
    (b"lsmod", Program),
    (b"lsof", Program),
    (b"lspci", Program),
    (b"lsusb", Program),
    (b"ltrace", Program),
    (b"lua", Tool),
    (b"lynx", Program),
    (b"mail", Word),
    (b"make", Word),
    (b"masscan", Program),
    (b"mawk", Program),
    (b"md5sum", Program),
    (b"mkdir", Program),
    (b"mkfifo", Program),
    (b"mknod", Program),
    (b"mktemp", Program),
    (b"more", Word),
    (b"mount", Tool),
    (b"move", Word),
    (b"mshta", Program),
    (b"msiexec", Program),
    (b"mv", Tool),
    (b"nano", Tool),
    (b"nawk", Program),
    (b"nbtstat", Program),
    (b"nc", Program),
    (b"ncat", Program),
    (b"net", Word),
    (b"netcat", Program),
    (b"netsh", Program),
    (b"netstat", Program),
    (b"nice", Word),
    (b"nl", Tool),
    (b"nltest", Program),
    (b"nmap", Program),
    (b"node", Tool),
    (b"nodejs", Program),
    (b"nohup", Program),
    (b"npm", Program),
    (b"npx", Program),
    (b"nslookup", Program),
    (b"od", Tool),
    (b"openssl", Program),
    (b"osascript", Program),
    (b"pacman", Program),
    (b"passwd", Program),
    (b"paste", Word),
    (b"pathping", Program),
    (b"perl", Tool),
    (b"perl5", Program),
    (b"pgrep", Program),
    (b"php", Tool),
    (b"php7", Program),
    (b"php8", Program),
    (b"ping", Tool),
    (b"pip", Tool),
    (b"pip3", Program),
    (b"pkill", Program),
    (b"poweroff", Tool),
    (b"powershell", Program),
    (b"printenv", Program),
    (b"printf", Tool),
    (b"ps", Tool),
    (b"pwd", Program),
    (b"pwsh", Program),
    (b"python", Tool),
    (b"python2", Program),
    (b"python3", Program),
    (b"quser", Program),
    (b"qwinsta", Program),
    (b"rcp", Program),
    (b"readlink", Program),
    (b"realpath", Program),
    (b"reboot", Tool),
    (b"reg", Tool),
    (b"regsvr32", Program),
    (b"rev", Word),
    (b"rgrep", Program),
    (b"rlogin", Program),
    (b"rm", Tool),
    (b"rmdir", Program),
    (b"robocopy", Program),
    (b"route", Word),
    (b"rpm", Program),
    (b"rsh", Program),
    (b"rsync", Program),
    (b"ruby", Tool),
    (b"rundll32", Program),
    (b"schtasks", Program),
    (b"scp", Program),
    (b"screen", Word),
    (b"script", Word),
    (b"sed", Program),
    (b"sendmail", Word),
    (b"seq", Tool),
    (b"service", Word),
    (b"set", Word),
    (b"setsid", Program),
    (b"sftp", Program),
    (b"sh", Program),
    (b"sha1sum", Program),
    (b"sha256sum", Program),
    (b"shred", Tool),
    (b"shutdown", Tool),
    (b"sleep", Tool),
    (b"smbclient", Program),
    (b"socat", Program),
    (b"sort", Word),
    (b"source", Word),
    (b"split", Word),
    (b"ss", Tool),
    (b"ssh", Program),
    (b"ssh-keygen", Program),
    (b"start", Word),
    (b"stat", Tool),
    (b"strace", Program),
    (b"strings", Word),
    (b"su", Tool),
    (b"sudo", Program),
    (b"sysinfo", Tool),
    (b"systemctl", Program),
    (b"systeminfo", Program),
    (b"tac", Tool),
    (b"tail", Word),
    (b"tar", Tool),
    (b"taskkill", Program),
    (b"tasklist", Program),
    (b"tclsh", Program),
    (b"tcpdump", Program),
    (b"tcsh", Program),
    (b"tee", Tool),
    (b"telnet", Program),
    (b"test", Word),
    (b"tftp", Program),
    (b"time", Word),
    (b"timeout", Word),
    (b"tmux", Program),
    (b"top", Word),
    (b"touch", Word),
    (b"tr", Tool),
    (b"tracepath", Program),
    (b"traceroute", Program),
    (b"tracert", Program),
    (b"trap", Word),
    (b"true", Word),
    (b"tshark", Program),
    (b"type", Word),
    (b"umount", Program),
    (b"uname", Program),
    (b"uniq", Program),
    (b"unset", Tool),
    (b"unzip", Program),
    (b"uptime", Program),
    (b"useradd", Program),
    (b"userdel", Program),
    (b"usermod", Program),
    (b"users", Word),
    (b"ver", Tool),
    (b"vi", Tool),
    (b"vim", Tool),
    (b"vmstat", Program),
    (b"w", Word),
    (b"wait", Word),
    (b"watch", Word),
    (b"wc", Tool),
    (b"wget", Program),
    (b"whereis", Program),
    (b"which", Word),
    (b"who", Word),
    (b"whoami", Program),
    (b"whois", Program),
    (b"winget", Program),
    (b"wmic", Program),
    (b"wscript", Program),
    (b"xargs", Program),
    (b"xcopy", Program),
    (b"xterm", Program),
    (b"xxd", Program),
    (b"yes", Word),
    (b"yum", Program),
    (b"zip", Tool),
    (b"zsh", Program),
    (b"zypper", Program),
];

/// Absolute paths of common programs, against which a globbed word (`/???/??t`) is resolved.
pub(super) const PROGRAM_PATHS: &[&str] = &[
    "/bin/sh",
    "/bin/bash",
    "/bin/dash",
    "/bin/zsh",
    "/bin/ksh",
    "/bin/cat",
    "/bin/ls",
    "/bin/nc",
    "/bin/id",
    "/bin/ps",
    "/bin/rm",
    "/bin/cp",
    "/bin/mv",
    "/bin/echo",
    "/bin/sleep",
    "/bin/ping",
    "/bin/uname",
    "/bin/chmod",
    "/bin/busybox",
    "/bin/netcat",
    "/bin/ncat",
    "/bin/grep",
    "/bin/sed",
    "/bin/tar",
    "/bin/kill",
    "/bin/pwd",
    "/bin/more",
    "/bin/less",
    "/bin/head",
    "/bin/tail",
    "/usr/bin/id",
    "/usr/bin/whoami",
    "/usr/bin/wget",
    "/usr/bin/curl",
    "/usr/bin/nc",
    "/usr/bin/ncat",
    "/usr/bin/socat",
    "/usr/bin/python",
    "/usr/bin/python3",
    "/usr/bin/perl",
    "/usr/bin/ruby",
    "/usr/bin/php",
    "/usr/bin/env",
    "/usr/bin/printenv",
    "/usr/bin/awk",
    "/usr/bin/base64",
    "/usr/bin/xargs",
    "/usr/bin/find",
    "/usr/bin/cat",
    "/usr/bin/uname",
    "/usr/bin/head",
    "/usr/bin/tail",
    "/usr/bin/telnet",
    "/usr/bin/ssh",
    "/usr/bin/sudo",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/hosts",
];

/// Whether `pattern` (shell glob: `?`, `*`, `[...]`) matches all of `text`. Iterative with one
/// backtrack point, so linear in practice and bounded by the caller's short words.
pub(super) fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += 1;
                continue;
            }
            Some(b'[') => {
                if let Some((matched, length)) = class_matches(&pattern[p..], text[t]) {
                    if matched {
                        p += length;
                        t += 1;
                        continue;
                    }
                } else if text[t] == b'[' {
                    p += 1;
                    t += 1;
                    continue;
                }
            }
            Some(&byte) if byte == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|byte| *byte == b'*')
}

/// A `[...]` class at the start of `pattern`: whether `byte` is in it, and the class's length; `None`
/// when the bracket does not close.
fn class_matches(pattern: &[u8], byte: u8) -> Option<(bool, usize)> {
    let close = pattern.iter().skip(2).position(|b| *b == b']')? + 2;
    let body = &pattern[1..close];
    let (negated, body) = match body.first() {
        Some(b'!' | b'^') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut inside = false;
    let mut i = 0;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == b'-' {
            inside |= (body[i]..=body[i + 2]).contains(&byte);
            i += 3;
        } else {
            inside |= body[i] == byte;
            i += 1;
        }
    }
    Some((inside != negated, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_resolve_like_the_shell() {
        assert!(glob_matches(b"/???/??t", b"/bin/cat"));
        assert!(glob_matches(b"/???/p??s??", b"/etc/passwd"));
        assert!(glob_matches(b"/b*/c[a-b]t", b"/bin/cat"));
        assert!(glob_matches(b"/bin/[!x]s", b"/bin/ls"));
        assert!(!glob_matches(b"/???/??t", b"/bin/ls"));
        assert!(!glob_matches(b"[", b"a"));
        assert!(glob_matches(b"*", b""));
    }

    #[test]
    fn every_name_passes_the_first_letters_table() {
        for (name, _) in VOCABULARY {
            if let [first, second, ..] = name {
                assert!(may_be_program(*first, *second), "{}", String::from_utf8_lossy(name));
            }
        }
        assert!(!may_be_program(b't', b'h'), "no program starts with `th`");
    }

    #[test]
    fn the_vocabulary_is_sorted_and_unique() {
        assert!(VOCABULARY.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn the_vocabulary_tells_names_from_words() {
        assert_eq!(command(b"whoami"), Some(Kind::Program));
        assert_eq!(command(b"cat"), Some(Kind::Tool));
        assert_eq!(command(b"find"), Some(Kind::Word));
        assert_eq!(command(b"hello"), None);
    }
}
