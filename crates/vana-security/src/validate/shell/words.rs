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
    match name {
        // Identity, system and network reconnaissance.
        b"whoami" | b"uname" | b"ifconfig" | b"ipconfig" | b"netstat" | b"nslookup" | b"systeminfo"
        | b"tasklist" | b"taskkill" | b"hostname" | b"printenv" | b"getent" | b"lsof" | b"uptime"
        | b"traceroute" | b"tracert" | b"tracepath" | b"arp" | b"nmap" | b"masscan" | b"tcpdump"
        | b"tshark"   | b"iptables" | b"dmesg" | b"lsb_release" | b"lscpu" | b"lsblk"
        | b"lsmod" | b"lspci" | b"lsusb" | b"getfacl" | b"whois" | b"pathping" | b"qwinsta"
        | b"quser" | b"nbtstat" | b"nltest" | b"dsquery" | b"gpresult"  
        // Network transfer and remote shells.
        | b"wget" | b"curl" | b"nc" | b"ncat" | b"netcat" | b"socat" | b"telnet" | b"ssh" | b"scp"
        | b"sftp" | b"tftp" | b"rsync" | b"lynx" | b"aria2c" | b"smbclient" | b"rcp" | b"rsh"
        | b"rlogin" | b"openssl" | b"certutil" | b"bitsadmin"
        // Shells and interpreters run by a full name.
        | b"bash" | b"sh" | b"zsh" | b"ksh"  | b"csh" | b"tcsh"  | b"busybox"
        | b"pwsh" | b"powershell" | b"cmd" | b"cscript" | b"wscript" | b"mshta" | b"rundll32"
        | b"regsvr32" | b"python2" | b"python3" | b"perl5" | b"php7" | b"php8" | b"nodejs" | b"jjs"
        | b"jrunscript" | b"irb" | b"tclsh" | b"osascript" | b"msiexec" | b"wmic" | b"schtasks"
        | b"icacls" | b"cacls" | b"xcopy" | b"robocopy" | b"findstr" | b"netsh" | b"iex"
        // Files, permissions and processes.
        | b"chmod" | b"chown" | b"chgrp" | b"chattr" | b"mkfifo" | b"mknod" | b"xargs" | b"base64"
        | b"base32" | b"xxd" | b"hexdump"  | b"nohup" | b"sudo" | b"crontab"
        | b"systemctl" | b"useradd" | b"usermod" | b"userdel" | b"adduser" | b"passwd" | b"chpasswd"
        | b"killall" | b"pkill" | b"pgrep" | b"strace" | b"ltrace" | b"gdb" | b"chroot" | b"umount"
        | b"mkdir" | b"rmdir" | b"ls" | b"pwd" | b"md5sum" | b"sha1sum" | b"sha256sum" | b"cksum"
        | b"gunzip" | b"bzip2" | b"unzip" | b"7z"  | b"uniq" | b"whereis" 
        | b"readlink" | b"realpath" | b"dirname" | b"basename" | b"mktemp"  | b"dd"
        | b"setsid" | b"disown" | b"awk" | b"gawk" | b"mawk" | b"nawk" | b"sed" | b"grep" | b"egrep"
        | b"fgrep" | b"rgrep"    | b"vmstat"   | b"xterm"
        | b"tmux" | b"ssh-keygen"   | b"attrib"   
        // Package managers.
         | b"apt-get" | b"yum" | b"dnf" | b"apk" | b"dpkg" | b"rpm"  | b"pip3"
        | b"npm" | b"npx"  | b"cpan"  | b"pacman" | b"zypper" 
        | b"winget" => Some(Kind::Program),
        // Names that are also words, but run alone in an injection (`;id`, `|ps`).
        b"alias" | b"apt" | b"ash" | b"bc" | b"brew" | b"cat" | b"cc" | b"choco" | b"cp" | b"dash" |
        b"del" | b"df" | b"dig" | b"dir" | b"du" | b"echo" | b"ed" | b"env" | b"eval" | b"exec" |
        b"expr" | b"finger" | b"gcc" | b"gem" | b"gpg" | b"gzip" | b"halt" | b"id" | b"ip" | b"java"
        | b"kill" | b"ln" | b"lua" | b"mount" | b"mv" | b"nano" | b"nl" | b"node" | b"od" | b"perl"
        | b"php" | b"ping" | b"pip" | b"poweroff" | b"printf" | b"ps" | b"python" | b"reboot" |
        b"reg" | b"rm" | b"ruby" | b"seq" | b"shred" | b"shutdown" | b"sleep" | b"ss" | b"stat" |
        b"su" | b"sysinfo" | b"tac" | b"tar" | b"tee" | b"tr" | b"unset" | b"ver" | b"vi" | b"vim" |
        b"wc" | b"zip" => Some(Kind::Tool),
        // Words of prose, code or chat that are also programs: commands only with arguments.
        b"at" | b"builtin" | b"command" | b"copy" | b"cron" | b"cut" | b"date" | b"exit" | b"export"
        | b"false" | b"file" | b"find" | b"fold" | b"free" | b"ftp" | b"groups" | b"head" |
        b"history" | b"host" | b"init" | b"join" | b"last" | b"less" | b"links" | b"locate" |
        b"logout" | b"mail" | b"make" | b"more" | b"move" | b"net" | b"nice" | b"paste" | b"rev" |
        b"route" | b"screen" | b"script" | b"sendmail" | b"service" | b"set" | b"sort" | b"source" |
        b"split" | b"start" | b"strings" | b"tail" | b"test" | b"time" | b"timeout" | b"top" |
        b"touch" | b"trap" | b"true" | b"type" | b"users" | b"w" | b"wait" | b"watch" | b"which" |
        b"who" | b"yes" => Some(Kind::Word),
        _ => None,
    }
}

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
    fn the_vocabulary_tells_names_from_words() {
        assert_eq!(command(b"whoami"), Some(Kind::Program));
        assert_eq!(command(b"cat"), Some(Kind::Tool));
        assert_eq!(command(b"find"), Some(Kind::Word));
        assert_eq!(command(b"hello"), None);
    }
}
