#!/bin/sh
# Postfix policy service for SMTP fault injection (research note §8).
#
# Postfix runs this via `spawn` (master.cf service "faultpolicy", user nobody) and
# asks it at RCPT (smtpd_recipient_restrictions) and at end of DATA
# (smtpd_end_of_data_restrictions), on every SMTP port of the provider.
# It re-reads FAULTDIR on EVERY request, so faults switch on/off instantly, without
# `postfix reload` (pitfall 11: a reload does not reach an idle smtpd process).
#
#   FAULTDIR/smtp-tempfail   if present: every RCPT gets its first line as reply
#                            (default "451 4.3.0 ..."), i.e. a temporary failure
#   FAULTDIR/smtp-rules      lines "PATTERN ACTION...", first match wins:
#       bob@b.test 451 4.3.0 try later       RCPT of that recipient
#       @b.test 421 4.3.2 closing            RCPT of any recipient in b.test
#       from:alice@a.test 554 5.7.1 no       RCPT when the envelope sender matches
#       * 450 4.2.0 busy                     any RCPT
#       data:* 452 4.3.1 out of space        end of DATA (also data:@dom, data:from:..)
#     ACTION is any access(5) action: "4xx/5xx text", DISCARD, HOLD, DUNNO, ...
#
# Protocol (SMTPD_POLICY_README): read "name=value" lines up to an empty line,
# answer "action=...", then an empty line; repeat until EOF.
fdir=$1

while :; do
    rcpt="" sender="" state=""
    while :; do
        IFS= read -r line || exit 0
        [ -z "$line" ] && break
        case $line in
            recipient=*)      rcpt=${line#recipient=} ;;
            sender=*)         sender=${line#sender=} ;;
            protocol_state=*) state=${line#protocol_state=} ;;
        esac
    done
    action=DUNNO
    if [ "$state" = RCPT ] && [ -e "$fdir/smtp-tempfail" ]; then
        action=$(head -n 1 "$fdir/smtp-tempfail" 2>/dev/null)
        [ -n "$action" ] || action="451 4.3.0 Temporary failure, try again later (mailtest smtp-tempfail)"
    elif [ -s "$fdir/smtp-rules" ]; then
        while read -r pat act; do
            case $pat in ''|'#'*) continue ;; esac
            stage=RCPT
            case $pat in data:*) stage=END-OF-MESSAGE; pat=${pat#data:} ;; esac
            [ "$state" = "$stage" ] || continue
            case $pat in
                '*') ;;
                from:*) [ "$sender" = "${pat#from:}" ] || continue ;;
                @*) case $rcpt in *"$pat") ;; *) continue ;; esac ;;
                *) [ "$rcpt" = "$pat" ] || continue ;;
            esac
            action=$act
            break
        done < "$fdir/smtp-rules"
    fi
    printf 'action=%s\n\n' "$action"
done
