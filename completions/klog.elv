
use builtin;
use str;

set edit:completion:arg-completer[klog] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'klog'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'klog'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand topics 'Create, list, describe, alter and delete topics'
            cand produce 'Append records from stdin or files to a topic'
            cand consume 'Print a topic''s records'
            cand groups 'List, describe, reset and delete consumer groups'
            cand completions 'Print shell completions for bash, zsh, fish, elvish or powershell'
            cand man 'Write the man pages to a directory'
            cand __complete-names 'List topic or group names for the shell completions'
            cand segments 'List, dump, roll and verify segments (klog''s or a Kafka broker''s)'
            cand trim 'Move a topic''s log start offset up (Kafka''s delete-records)'
            cand clean 'Apply retention (retention.ms, retention.bytes) and compaction now'
            cand serve 'Serve the data directory to Kafka clients (a single-node Kafka broker)'
            cand mirror 'Copy topics to or from a Kafka cluster over Kafka''s protocol'
            cand users 'Add, list and delete the SASL users of `klog serve`'
            cand acls 'Add, list and remove the ACLs `klog serve` checks once users exist'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;topics'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a topic'
            cand list 'List topics with their size, record count, retention and cleanup policy'
            cand describe 'Show a topic''s partitions (offsets, size, segments, timestamps) and configs'
            cand alter 'Add partitions or change configs'
            cand delete 'Delete topics and all their data'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;topics;create'= {
            cand -p 'Number of partitions'
            cand --partitions 'Number of partitions'
            cand -c 'A topic config, Kafka''s names (repeatable), e.g. -c retention.ms=3600000'
            cand --config 'A topic config, Kafka''s names (repeatable), e.g. -c retention.ms=3600000'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --if-not-exists 'Succeed without changes if the topic already exists'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;topics;list'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --json 'Print one JSON document instead of a table'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;topics;describe'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --json 'Print one JSON document instead of tables'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;topics;alter'= {
            cand -p 'New partition count (partitions can only grow)'
            cand --partitions 'New partition count (partitions can only grow)'
            cand -c 'Set a config (repeatable)'
            cand --config 'Set a config (repeatable)'
            cand --delete-config 'Remove a config override, back to its default (repeatable)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;topics;delete'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;topics;help'= {
            cand create 'Create a topic'
            cand list 'List topics with their size, record count, retention and cleanup policy'
            cand describe 'Show a topic''s partitions (offsets, size, segments, timestamps) and configs'
            cand alter 'Add partitions or change configs'
            cand delete 'Delete topics and all their data'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;topics;help;create'= {
        }
        &'klog;topics;help;list'= {
        }
        &'klog;topics;help;describe'= {
        }
        &'klog;topics;help;alter'= {
        }
        &'klog;topics;help;delete'= {
        }
        &'klog;topics;help;help'= {
        }
        &'klog;produce'= {
            cand -p 'Write every record to this partition instead of choosing by key'
            cand --partition 'Write every record to this partition instead of choosing by key'
            cand -k 'Use this key for every record'
            cand --key 'Use this key for every record'
            cand -K 'Split each record at the first SEP into key and value (escapes: \t \n \0 \xNN)'
            cand --key-separator 'Split each record at the first SEP into key and value (escapes: \t \n \0 \xNN)'
            cand -H 'Add this header to every record (repeatable)'
            cand --header 'Add this header to every record (repeatable)'
            cand -D 'Record delimiter instead of newline (escapes: \t \n \0 \xNN)'
            cand --delimiter 'Record delimiter instead of newline (escapes: \t \n \0 \xNN)'
            cand --null-marker 'A key or value equal to STR is null (a value of null is a tombstone)'
            cand --partitions 'Partitions of the topic if this command creates it (default 1); for a topic that exists, N must be its partition count (`klog topics alter` adds partitions)'
            cand --compression 'Compress batches with this codec (default: the topic''s compression.type, else none)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -0 'Records are separated by NUL bytes (like find -print0)'
            cand --null 'Records are separated by NUL bytes (like find -print0)'
            cand --raw 'Each file (or all of stdin) is one record, byte for byte'
            cand --json 'Each line is a JSON object as `klog consume --json` prints it'
            cand --skip-invalid 'Report invalid records on stderr and go on instead of stopping'
            cand --no-create 'Fail instead of creating a missing topic'
            cand --ignore-partition 'With --json: choose each record''s partition by its key (Kafka''s partitioner), ignoring the "partition" field, e.g. to copy a topic into one with more partitions'
            cand --sync 'fsync every batch right after appending it, before appending the next'
            cand -v 'Print a summary on stderr: records and bytes written, and for each partition written to, its records'' count and first and last offset'
            cand --verbose 'Print a summary on stderr: records and bytes written, and for each partition written to, its records'' count and first and last offset'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;consume'= {
            cand -o 'Where to start: beginning, end, an offset N, -N (N records before the end of each partition), or @TIME (first record at or after TIME: RFC 3339, epoch ms, or relative such as @-1h)'
            cand --offset 'Where to start: beginning, end, an offset N, -N (N records before the end of each partition), or @TIME (first record at or after TIME: RFC 3339, epoch ms, or relative such as @-1h)'
            cand -u 'Where to stop (exclusive): end, an offset N, or @TIME'
            cand --until 'Where to stop (exclusive): end, an offset N, or @TIME'
            cand -n 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)'
            cand -c 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)'
            cand --count 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)'
            cand --max-messages 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)'
            cand -p 'Read only this partition (repeatable)'
            cand --partition 'Read only this partition (repeatable)'
            cand -K 'Print the key, SEP, then the value (escapes: \t \n \0 \xNN)'
            cand --key-separator 'Print the key, SEP, then the value (escapes: \t \n \0 \xNN)'
            cand -D 'Print DELIM after each record instead of a newline, in the default and -K output (kcat''s -D; escapes: \t \n \0 \xNN)'
            cand --delimiter 'Print DELIM after each record instead of a newline, in the default and -K output (kcat''s -D; escapes: \t \n \0 \xNN)'
            cand -F 'Output format with kcat''s tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers, %K/%S key/value length, %% a percent sign; escapes \n \t'
            cand --format 'Output format with kcat''s tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers, %K/%S key/value length, %% a percent sign; escapes \n \t'
            cand --null-literal 'Print null keys and values as STR in text output (default: nothing)'
            cand -g 'Consume as a member of this group (any non-empty id, as in Kafka): start at its committed offsets, commit what was printed, and share the partitions with the group''s other live members'
            cand --group 'Consume as a member of this group (any non-empty id, as in Kafka): start at its committed offsets, commit what was printed, and share the partitions with the group''s other live members'
            cand --reset 'Where a group starts on a partition it has no committed offset for, or whose committed offset lies outside the log (Kafka''s auto.offset.reset; a warning names the partition)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --from-beginning 'Same as --offset beginning'
            cand -e 'Exit at the end of the log (kcat''s -e): what consume does without --follow'
            cand --exit 'Exit at the end of the log (kcat''s -e): what consume does without --follow'
            cand -f 'Keep waiting for new records, like tail -f'
            cand --follow 'Keep waiting for new records, like tail -f'
            cand --json 'One JSON object per record and line (bytes that are not UTF-8 as {"base64": …})'
            cand --no-commit 'Read with the group''s offsets and partition sharing, but commit nothing'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;groups'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List consumer groups with their topics, live members and total lag (klog''s, and a Kafka broker''s from its __consumer_offsets topic)'
            cand describe 'Show a group''s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)'
            cand reset 'Move a group''s committed offsets (refused while a member owns an affected partition)'
            cand delete 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;groups;list'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --json 'Print one JSON document instead of a table'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;groups;describe'= {
            cand --topic 'Only this topic'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --json 'Print one JSON document instead of a table'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;groups;reset'= {
            cand --topic 'Topic whose offsets to move'
            cand -p 'Only this partition (repeatable; default: all)'
            cand --partition 'Only this partition (repeatable; default: all)'
            cand --to-offset 'To this offset; past the log end it goes to the log end, below the log start to the log start (as Kafka''s tool does), with a note'
            cand --to-time 'To the first record at or after TIME (RFC 3339, epoch ms, or relative such as -1h, -1h30m)'
            cand --by-duration 'To the first record at or after now minus DURATION: ISO 8601 as Kafka''s tool takes it (PT1H, P1DT2H, PT0.5S), or 30m, 1h30m, 2d'
            cand --shift-by 'Move by N records (negative: back), kept within the log'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --to-earliest 'To the log start offset'
            cand --to-latest 'To the log end offset (skip everything there is)'
            cand --dry-run 'Show the old and new offsets without changing anything'
            cand --json 'Print one JSON document instead of a table'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;groups;delete'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;groups;help'= {
            cand list 'List consumer groups with their topics, live members and total lag (klog''s, and a Kafka broker''s from its __consumer_offsets topic)'
            cand describe 'Show a group''s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)'
            cand reset 'Move a group''s committed offsets (refused while a member owns an affected partition)'
            cand delete 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;groups;help;list'= {
        }
        &'klog;groups;help;describe'= {
        }
        &'klog;groups;help;reset'= {
        }
        &'klog;groups;help;delete'= {
        }
        &'klog;groups;help;help'= {
        }
        &'klog;completions'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;man'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;__complete-names'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;segments'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed'
            cand dump 'Print batches (and with --records, records) of segments, like kafka-dump-log'
            cand roll 'Close the active segment now and start a new one'
            cand verify 'Check every batch, offset and index entry; --repair cuts damage without moving offsets'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;segments;list'= {
            cand -p 'Only this partition (repeatable)'
            cand --partition 'Only this partition (repeatable)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --json 'Print one JSON document instead of a table'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;segments;dump'= {
            cand -p 'Only this partition of a topic (repeatable)'
            cand --partition 'Only this partition of a topic (repeatable)'
            cand --offset 'Start at the batch holding this offset (found through the offset index)'
            cand --max-bytes 'Read at most this many bytes of each log file'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --records 'Also print every record (key, value, headers)'
            cand --print-data-log 'Also print every record (key, value, headers)'
            cand --json 'One JSON object per batch (or index entry) and line'
            cand --offsets-decoder 'Decode records as the group coordinator''s (__consumer_offsets) offset commits and group metadata (automatic for __consumer_offsets partitions)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;segments;roll'= {
            cand -p 'Only this partition (repeatable)'
            cand --partition 'Only this partition (repeatable)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;segments;verify'= {
            cand -p 'Only this partition of a topic (repeatable)'
            cand --partition 'Only this partition of a topic (repeatable)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --repair 'Cut damaged tails and regions (valid batches after them keep their offsets in a new segment) and rebuild damaged indexes'
            cand --json 'Print one JSON document'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;segments;help'= {
            cand list 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed'
            cand dump 'Print batches (and with --records, records) of segments, like kafka-dump-log'
            cand roll 'Close the active segment now and start a new one'
            cand verify 'Check every batch, offset and index entry; --repair cuts damage without moving offsets'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;segments;help;list'= {
        }
        &'klog;segments;help;dump'= {
        }
        &'klog;segments;help;roll'= {
        }
        &'klog;segments;help;verify'= {
        }
        &'klog;segments;help;help'= {
        }
        &'klog;trim'= {
            cand --before 'New log start offset: an offset, or @TIME (the first record at or after TIME)'
            cand -p 'Only this partition (repeatable)'
            cand --partition 'Only this partition (repeatable)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --json 'Print one JSON document'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;clean'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --dry-run 'Show what would be deleted without deleting anything'
            cand --json 'Print one JSON document'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;serve'= {
            cand --listen 'Address to listen on, with an optional security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (repeatable; port 0 picks a free port)'
            cand --advertised-listener 'Address given to clients in metadata, one per --listen in the same order (default: the listener''s own address)'
            cand --tls-cert 'PEM certificate chain of the SSL and SASL_SSL listeners'
            cand --tls-key 'PEM private key of --tls-cert'
            cand --tls-client-ca 'PEM CA certificates: TLS clients must present a certificate it signed (mutual TLS)'
            cand --max-connections 'Connections open at once; more are closed as they come (Kafka''s max.connections)'
            cand --max-connections-per-ip 'Connections open at once from one address (Kafka''s max.connections.per.ip)'
            cand --producer-byte-rate 'Produce bytes per second per user; more is throttled (Kafka''s producer_byte_rate)'
            cand --consumer-byte-rate 'Fetched bytes per second per user; more is throttled (Kafka''s consumer_byte_rate)'
            cand --auto-create-topics 'Create a missing topic when a client asks for it (Kafka''s auto.create.topics.enable)'
            cand --default-partitions 'Partitions of a topic created without a count (Kafka''s num.partitions)'
            cand --group-initial-rebalance-delay-ms 'Delay before a new consumer group''s first rebalance completes (Kafka''s group.initial.rebalance.delay.ms)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --allow-insecure-listener 'Allow a listener on an address other than loopback without TLS and SASL'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;mirror'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand pull 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets'
            cand push 'Copy local topics into a Kafka cluster, partition for partition, with their groups'' offsets'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;mirror;pull'= {
            cand --from 'Broker to pull from (repeatable or comma-separated: several bootstrap brokers)'
            cand --max-partition-fetch-bytes 'Most bytes fetched per partition per request (Kafka''s max.partition.fetch.bytes)'
            cand --security-protocol 'Kafka''s security.protocol'
            cand --sasl-mechanism 'SASL mechanism'
            cand --sasl-username 'SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)'
            cand --sasl-password-file 'File whose first line is the SASL password'
            cand --tls-ca 'PEM CA certificates the brokers'' certificates must chain to [default: Mozilla''s roots]'
            cand --tls-cert 'PEM client certificate chain, for mutual TLS (with --tls-key)'
            cand --tls-key 'PEM private key of --tls-cert'
            cand --client-config 'Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --all 'Pull every topic of the source (not its internal ones)'
            cand -f 'Keep following the source until Ctrl-C or SIGTERM'
            cand --follow 'Keep following the source until Ctrl-C or SIGTERM'
            cand --truncate-on-divergence 'On divergence, cut the local log back to the last batch the source has too'
            cand --verify 'After copying, check each partition''s last batch against the source''s'
            cand --dry-run 'Print what would be created and copied; change nothing'
            cand --json 'Print the summary as JSON on stdout'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;mirror;push'= {
            cand --to 'Broker of the cluster to push to (repeatable or comma-separated)'
            cand --security-protocol 'Kafka''s security.protocol'
            cand --sasl-mechanism 'SASL mechanism'
            cand --sasl-username 'SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)'
            cand --sasl-password-file 'File whose first line is the SASL password'
            cand --tls-ca 'PEM CA certificates the brokers'' certificates must chain to [default: Mozilla''s roots]'
            cand --tls-cert 'PEM client certificate chain, for mutual TLS (with --tls-key)'
            cand --tls-key 'PEM private key of --tls-cert'
            cand --client-config 'Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --all 'Push every local topic'
            cand -f 'Keep pushing what is appended until Ctrl-C or SIGTERM'
            cand --follow 'Keep pushing what is appended until Ctrl-C or SIGTERM'
            cand --groups 'Commit the local consumer groups'' offsets on the cluster, translated'
            cand --dry-run 'Print what would be created and sent; change nothing'
            cand --json 'Print the summary as JSON on stdout'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;mirror;help'= {
            cand pull 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets'
            cand push 'Copy local topics into a Kafka cluster, partition for partition, with their groups'' offsets'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;mirror;help;pull'= {
        }
        &'klog;mirror;help;push'= {
        }
        &'klog;mirror;help;help'= {
        }
        &'klog;users'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add a user, or change its password'
            cand list 'List the users and their mechanisms'
            cand delete 'Delete a user'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;users;add'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;users;list'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;users;delete'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;users;help'= {
            cand add 'Add a user, or change its password'
            cand list 'List the users and their mechanisms'
            cand delete 'Delete a user'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;users;help;add'= {
        }
        &'klog;users;help;list'= {
        }
        &'klog;users;help;delete'= {
        }
        &'klog;users;help;help'= {
        }
        &'klog;acls'= {
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Allow a user an operation on a topic, a group or the cluster'
            cand list 'List the rules'
            cand remove 'Remove a rule'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;acls;add'= {
            cand --topic 'The topic (a name, `*`, or with --prefixed a prefix)'
            cand --group 'The consumer group (a name, `*`, or with --prefixed a prefix)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --cluster 'The cluster (creating topics, the admin APIs, managing ACLs)'
            cand --prefixed 'The name is a prefix'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;acls;list'= {
            cand --user 'Only this user''s rules'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;acls;remove'= {
            cand --topic 'The topic (a name, `*`, or with --prefixed a prefix)'
            cand --group 'The consumer group (a name, `*`, or with --prefixed a prefix)'
            cand --dir 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)'
            cand --color 'When to use colors (honours NO_COLOR)'
            cand --cluster 'The cluster (creating topics, the admin APIs, managing ACLs)'
            cand --prefixed 'The name is a prefix'
            cand -q 'Print nothing but data and errors'
            cand --quiet 'Print nothing but data and errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klog;acls;help'= {
            cand add 'Allow a user an operation on a topic, a group or the cluster'
            cand list 'List the rules'
            cand remove 'Remove a rule'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;acls;help;add'= {
        }
        &'klog;acls;help;list'= {
        }
        &'klog;acls;help;remove'= {
        }
        &'klog;acls;help;help'= {
        }
        &'klog;help'= {
            cand topics 'Create, list, describe, alter and delete topics'
            cand produce 'Append records from stdin or files to a topic'
            cand consume 'Print a topic''s records'
            cand groups 'List, describe, reset and delete consumer groups'
            cand completions 'Print shell completions for bash, zsh, fish, elvish or powershell'
            cand man 'Write the man pages to a directory'
            cand __complete-names 'List topic or group names for the shell completions'
            cand segments 'List, dump, roll and verify segments (klog''s or a Kafka broker''s)'
            cand trim 'Move a topic''s log start offset up (Kafka''s delete-records)'
            cand clean 'Apply retention (retention.ms, retention.bytes) and compaction now'
            cand serve 'Serve the data directory to Kafka clients (a single-node Kafka broker)'
            cand mirror 'Copy topics to or from a Kafka cluster over Kafka''s protocol'
            cand users 'Add, list and delete the SASL users of `klog serve`'
            cand acls 'Add, list and remove the ACLs `klog serve` checks once users exist'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klog;help;topics'= {
            cand create 'Create a topic'
            cand list 'List topics with their size, record count, retention and cleanup policy'
            cand describe 'Show a topic''s partitions (offsets, size, segments, timestamps) and configs'
            cand alter 'Add partitions or change configs'
            cand delete 'Delete topics and all their data'
        }
        &'klog;help;topics;create'= {
        }
        &'klog;help;topics;list'= {
        }
        &'klog;help;topics;describe'= {
        }
        &'klog;help;topics;alter'= {
        }
        &'klog;help;topics;delete'= {
        }
        &'klog;help;produce'= {
        }
        &'klog;help;consume'= {
        }
        &'klog;help;groups'= {
            cand list 'List consumer groups with their topics, live members and total lag (klog''s, and a Kafka broker''s from its __consumer_offsets topic)'
            cand describe 'Show a group''s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)'
            cand reset 'Move a group''s committed offsets (refused while a member owns an affected partition)'
            cand delete 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)'
        }
        &'klog;help;groups;list'= {
        }
        &'klog;help;groups;describe'= {
        }
        &'klog;help;groups;reset'= {
        }
        &'klog;help;groups;delete'= {
        }
        &'klog;help;completions'= {
        }
        &'klog;help;man'= {
        }
        &'klog;help;__complete-names'= {
        }
        &'klog;help;segments'= {
            cand list 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed'
            cand dump 'Print batches (and with --records, records) of segments, like kafka-dump-log'
            cand roll 'Close the active segment now and start a new one'
            cand verify 'Check every batch, offset and index entry; --repair cuts damage without moving offsets'
        }
        &'klog;help;segments;list'= {
        }
        &'klog;help;segments;dump'= {
        }
        &'klog;help;segments;roll'= {
        }
        &'klog;help;segments;verify'= {
        }
        &'klog;help;trim'= {
        }
        &'klog;help;clean'= {
        }
        &'klog;help;serve'= {
        }
        &'klog;help;mirror'= {
            cand pull 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets'
            cand push 'Copy local topics into a Kafka cluster, partition for partition, with their groups'' offsets'
        }
        &'klog;help;mirror;pull'= {
        }
        &'klog;help;mirror;push'= {
        }
        &'klog;help;users'= {
            cand add 'Add a user, or change its password'
            cand list 'List the users and their mechanisms'
            cand delete 'Delete a user'
        }
        &'klog;help;users;add'= {
        }
        &'klog;help;users;list'= {
        }
        &'klog;help;users;delete'= {
        }
        &'klog;help;acls'= {
            cand add 'Allow a user an operation on a topic, a group or the cluster'
            cand list 'List the rules'
            cand remove 'Remove a rule'
        }
        &'klog;help;acls;add'= {
        }
        &'klog;help;acls;list'= {
        }
        &'klog;help;acls;remove'= {
        }
        &'klog;help;help'= {
        }
    ]
    $completions[$command]
}
