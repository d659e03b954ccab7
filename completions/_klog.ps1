
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'klog' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'klog'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'klog' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('topics', 'topics', [CompletionResultType]::ParameterValue, 'Create, list, describe, alter and delete topics')
            [CompletionResult]::new('produce', 'produce', [CompletionResultType]::ParameterValue, 'Append records from stdin or files to a topic')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Print a topic''s records')
            [CompletionResult]::new('groups', 'groups', [CompletionResultType]::ParameterValue, 'List, describe, reset and delete consumer groups')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions for bash, zsh, fish, elvish or powershell')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages to a directory')
            [CompletionResult]::new('__complete-names', '__complete-names', [CompletionResultType]::ParameterValue, 'List topic or group names for the shell completions')
            [CompletionResult]::new('segments', 'segments', [CompletionResultType]::ParameterValue, 'List, dump, roll and verify segments (klog''s or a Kafka broker''s)')
            [CompletionResult]::new('trim', 'trim', [CompletionResultType]::ParameterValue, 'Move a topic''s log start offset up (Kafka''s delete-records)')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Apply retention (retention.ms, retention.bytes) and compaction now')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the data directory to Kafka clients (a single-node Kafka broker)')
            [CompletionResult]::new('mirror', 'mirror', [CompletionResultType]::ParameterValue, 'Copy topics to or from a Kafka cluster over Kafka''s protocol')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Add, list and delete the SASL users of `klog serve`')
            [CompletionResult]::new('acls', 'acls', [CompletionResultType]::ParameterValue, 'Add, list and remove the ACLs `klog serve` checks once users exist')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;topics' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a topic')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List topics with their size, record count, retention and cleanup policy')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show a topic''s partitions (offsets, size, segments, timestamps) and configs')
            [CompletionResult]::new('alter', 'alter', [CompletionResultType]::ParameterValue, 'Add partitions or change configs')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete topics and all their data')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;topics;create' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Number of partitions')
            [CompletionResult]::new('--partitions', '--partitions', [CompletionResultType]::ParameterName, 'Number of partitions')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'A topic config, Kafka''s names (repeatable), e.g. -c retention.ms=3600000')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'A topic config, Kafka''s names (repeatable), e.g. -c retention.ms=3600000')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--if-not-exists', '--if-not-exists', [CompletionResultType]::ParameterName, 'Succeed without changes if the topic already exists')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;topics;list' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;topics;describe' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;topics;alter' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'New partition count (partitions can only grow)')
            [CompletionResult]::new('--partitions', '--partitions', [CompletionResultType]::ParameterName, 'New partition count (partitions can only grow)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Set a config (repeatable)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Set a config (repeatable)')
            [CompletionResult]::new('--delete-config', '--delete-config', [CompletionResultType]::ParameterName, 'Remove a config override, back to its default (repeatable)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;topics;delete' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;topics;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a topic')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List topics with their size, record count, retention and cleanup policy')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show a topic''s partitions (offsets, size, segments, timestamps) and configs')
            [CompletionResult]::new('alter', 'alter', [CompletionResultType]::ParameterValue, 'Add partitions or change configs')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete topics and all their data')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;topics;help;create' {
            break
        }
        'klog;topics;help;list' {
            break
        }
        'klog;topics;help;describe' {
            break
        }
        'klog;topics;help;alter' {
            break
        }
        'klog;topics;help;delete' {
            break
        }
        'klog;topics;help;help' {
            break
        }
        'klog;produce' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Write every record to this partition instead of choosing by key')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Write every record to this partition instead of choosing by key')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Use this key for every record')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Use this key for every record')
            [CompletionResult]::new('-K', '-K ', [CompletionResultType]::ParameterName, 'Split each record at the first SEP into key and value (escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('--key-separator', '--key-separator', [CompletionResultType]::ParameterName, 'Split each record at the first SEP into key and value (escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add this header to every record (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add this header to every record (repeatable)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Record delimiter instead of newline (escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'Record delimiter instead of newline (escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('--null-marker', '--null-marker', [CompletionResultType]::ParameterName, 'A key or value equal to STR is null (a value of null is a tombstone)')
            [CompletionResult]::new('--partitions', '--partitions', [CompletionResultType]::ParameterName, 'Partitions of the topic if this command creates it (default 1); for a topic that exists, N must be its partition count (`klog topics alter` adds partitions)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Compress batches with this codec (default: the topic''s compression.type, else none)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'Records are separated by NUL bytes (like find -print0)')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'Records are separated by NUL bytes (like find -print0)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Each file (or all of stdin) is one record, byte for byte')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Each line is a JSON object as `klog consume --json` prints it')
            [CompletionResult]::new('--skip-invalid', '--skip-invalid', [CompletionResultType]::ParameterName, 'Report invalid records on stderr and go on instead of stopping')
            [CompletionResult]::new('--no-create', '--no-create', [CompletionResultType]::ParameterName, 'Fail instead of creating a missing topic')
            [CompletionResult]::new('--ignore-partition', '--ignore-partition', [CompletionResultType]::ParameterName, 'With --json: choose each record''s partition by its key (Kafka''s partitioner), ignoring the "partition" field, e.g. to copy a topic into one with more partitions')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'fsync every batch right after appending it, before appending the next')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print a summary on stderr: records and bytes written, and for each partition written to, its records'' count and first and last offset')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print a summary on stderr: records and bytes written, and for each partition written to, its records'' count and first and last offset')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;consume' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to start: beginning, end, an offset N, -N (N records before the end of each partition), or @TIME (first record at or after TIME: RFC 3339, epoch ms, or relative such as @-1h)')
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'Where to start: beginning, end, an offset N, -N (N records before the end of each partition), or @TIME (first record at or after TIME: RFC 3339, epoch ms, or relative such as @-1h)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Where to stop (exclusive): end, an offset N, or @TIME')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Where to stop (exclusive): end, an offset N, or @TIME')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)')
            [CompletionResult]::new('--max-messages', '--max-messages', [CompletionResultType]::ParameterName, 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Read only this partition (repeatable)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Read only this partition (repeatable)')
            [CompletionResult]::new('-K', '-K ', [CompletionResultType]::ParameterName, 'Print the key, SEP, then the value (escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('--key-separator', '--key-separator', [CompletionResultType]::ParameterName, 'Print the key, SEP, then the value (escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Print DELIM after each record instead of a newline, in the default and -K output (kcat''s -D; escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'Print DELIM after each record instead of a newline, in the default and -K output (kcat''s -D; escapes: \t \n \0 \xNN)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Output format with kcat''s tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers, %K/%S key/value length, %% a percent sign; escapes \n \t')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format with kcat''s tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers, %K/%S key/value length, %% a percent sign; escapes \n \t')
            [CompletionResult]::new('--null-literal', '--null-literal', [CompletionResultType]::ParameterName, 'Print null keys and values as STR in text output (default: nothing)')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Consume as a member of this group (any non-empty id, as in Kafka): start at its committed offsets, commit what was printed, and share the partitions with the group''s other live members')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Consume as a member of this group (any non-empty id, as in Kafka): start at its committed offsets, commit what was printed, and share the partitions with the group''s other live members')
            [CompletionResult]::new('--reset', '--reset', [CompletionResultType]::ParameterName, 'Where a group starts on a partition it has no committed offset for, or whose committed offset lies outside the log (Kafka''s auto.offset.reset; a warning names the partition)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--from-beginning', '--from-beginning', [CompletionResultType]::ParameterName, 'Same as --offset beginning')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Exit at the end of the log (kcat''s -e): what consume does without --follow')
            [CompletionResult]::new('--exit', '--exit', [CompletionResultType]::ParameterName, 'Exit at the end of the log (kcat''s -e): what consume does without --follow')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep waiting for new records, like tail -f')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep waiting for new records, like tail -f')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per record and line (bytes that are not UTF-8 as {"base64": …})')
            [CompletionResult]::new('--no-commit', '--no-commit', [CompletionResultType]::ParameterName, 'Read with the group''s offsets and partition sharing, but commit nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;groups' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List consumer groups with their topics, live members and total lag (klog''s, and a Kafka broker''s from its __consumer_offsets topic)')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show a group''s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Move a group''s committed offsets (refused while a member owns an affected partition)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;groups;list' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;groups;describe' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Only this topic')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;groups;reset' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Topic whose offsets to move')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this partition (repeatable; default: all)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only this partition (repeatable; default: all)')
            [CompletionResult]::new('--to-offset', '--to-offset', [CompletionResultType]::ParameterName, 'To this offset; past the log end it goes to the log end, below the log start to the log start (as Kafka''s tool does), with a note')
            [CompletionResult]::new('--to-time', '--to-time', [CompletionResultType]::ParameterName, 'To the first record at or after TIME (RFC 3339, epoch ms, or relative such as -1h, -1h30m)')
            [CompletionResult]::new('--by-duration', '--by-duration', [CompletionResultType]::ParameterName, 'To the first record at or after now minus DURATION: ISO 8601 as Kafka''s tool takes it (PT1H, P1DT2H, PT0.5S), or 30m, 1h30m, 2d')
            [CompletionResult]::new('--shift-by', '--shift-by', [CompletionResultType]::ParameterName, 'Move by N records (negative: back), kept within the log')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--to-earliest', '--to-earliest', [CompletionResultType]::ParameterName, 'To the log start offset')
            [CompletionResult]::new('--to-latest', '--to-latest', [CompletionResultType]::ParameterName, 'To the log end offset (skip everything there is)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the old and new offsets without changing anything')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;groups;delete' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;groups;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List consumer groups with their topics, live members and total lag (klog''s, and a Kafka broker''s from its __consumer_offsets topic)')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show a group''s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Move a group''s committed offsets (refused while a member owns an affected partition)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;groups;help;list' {
            break
        }
        'klog;groups;help;describe' {
            break
        }
        'klog;groups;help;reset' {
            break
        }
        'klog;groups;help;delete' {
            break
        }
        'klog;groups;help;help' {
            break
        }
        'klog;completions' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;__complete-names' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;segments' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Print batches (and with --records, records) of segments, like kafka-dump-log')
            [CompletionResult]::new('roll', 'roll', [CompletionResultType]::ParameterValue, 'Close the active segment now and start a new one')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check every batch, offset and index entry; --repair cuts damage without moving offsets')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;segments;list' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this partition (repeatable)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only this partition (repeatable)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;segments;dump' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this partition of a topic (repeatable)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only this partition of a topic (repeatable)')
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'Start at the batch holding this offset (found through the offset index)')
            [CompletionResult]::new('--max-bytes', '--max-bytes', [CompletionResultType]::ParameterName, 'Read at most this many bytes of each log file')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--records', '--records', [CompletionResultType]::ParameterName, 'Also print every record (key, value, headers)')
            [CompletionResult]::new('--print-data-log', '--print-data-log', [CompletionResultType]::ParameterName, 'Also print every record (key, value, headers)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per batch (or index entry) and line')
            [CompletionResult]::new('--offsets-decoder', '--offsets-decoder', [CompletionResultType]::ParameterName, 'Decode records as the group coordinator''s (__consumer_offsets) offset commits and group metadata (automatic for __consumer_offsets partitions)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;segments;roll' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this partition (repeatable)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only this partition (repeatable)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;segments;verify' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this partition of a topic (repeatable)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only this partition of a topic (repeatable)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--repair', '--repair', [CompletionResultType]::ParameterName, 'Cut damaged tails and regions (valid batches after them keep their offsets in a new segment) and rebuild damaged indexes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;segments;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Print batches (and with --records, records) of segments, like kafka-dump-log')
            [CompletionResult]::new('roll', 'roll', [CompletionResultType]::ParameterValue, 'Close the active segment now and start a new one')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check every batch, offset and index entry; --repair cuts damage without moving offsets')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;segments;help;list' {
            break
        }
        'klog;segments;help;dump' {
            break
        }
        'klog;segments;help;roll' {
            break
        }
        'klog;segments;help;verify' {
            break
        }
        'klog;segments;help;help' {
            break
        }
        'klog;trim' {
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'New log start offset: an offset, or @TIME (the first record at or after TIME)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this partition (repeatable)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only this partition (repeatable)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;clean' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted without deleting anything')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on, with an optional security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (repeatable; port 0 picks a free port)')
            [CompletionResult]::new('--advertised-listener', '--advertised-listener', [CompletionResultType]::ParameterName, 'Address given to clients in metadata, one per --listen in the same order (default: the listener''s own address)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM certificate chain of the SSL and SASL_SSL listeners')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM private key of --tls-cert')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'PEM CA certificates: TLS clients must present a certificate it signed (mutual TLS)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections open at once; more are closed as they come (Kafka''s max.connections)')
            [CompletionResult]::new('--max-connections-per-ip', '--max-connections-per-ip', [CompletionResultType]::ParameterName, 'Connections open at once from one address (Kafka''s max.connections.per.ip)')
            [CompletionResult]::new('--producer-byte-rate', '--producer-byte-rate', [CompletionResultType]::ParameterName, 'Produce bytes per second per user; more is throttled (Kafka''s producer_byte_rate)')
            [CompletionResult]::new('--consumer-byte-rate', '--consumer-byte-rate', [CompletionResultType]::ParameterName, 'Fetched bytes per second per user; more is throttled (Kafka''s consumer_byte_rate)')
            [CompletionResult]::new('--auto-create-topics', '--auto-create-topics', [CompletionResultType]::ParameterName, 'Create a missing topic when a client asks for it (Kafka''s auto.create.topics.enable)')
            [CompletionResult]::new('--default-partitions', '--default-partitions', [CompletionResultType]::ParameterName, 'Partitions of a topic created without a count (Kafka''s num.partitions)')
            [CompletionResult]::new('--group-initial-rebalance-delay-ms', '--group-initial-rebalance-delay-ms', [CompletionResultType]::ParameterName, 'Delay before a new consumer group''s first rebalance completes (Kafka''s group.initial.rebalance.delay.ms)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--allow-insecure-listener', '--allow-insecure-listener', [CompletionResultType]::ParameterName, 'Allow a listener on an address other than loopback without TLS and SASL')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;mirror' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Copy local topics into a Kafka cluster, partition for partition, with their groups'' offsets')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;mirror;pull' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Broker to pull from (repeatable or comma-separated: several bootstrap brokers)')
            [CompletionResult]::new('--max-partition-fetch-bytes', '--max-partition-fetch-bytes', [CompletionResultType]::ParameterName, 'Most bytes fetched per partition per request (Kafka''s max.partition.fetch.bytes)')
            [CompletionResult]::new('--security-protocol', '--security-protocol', [CompletionResultType]::ParameterName, 'Kafka''s security.protocol')
            [CompletionResult]::new('--sasl-mechanism', '--sasl-mechanism', [CompletionResultType]::ParameterName, 'SASL mechanism')
            [CompletionResult]::new('--sasl-username', '--sasl-username', [CompletionResultType]::ParameterName, 'SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)')
            [CompletionResult]::new('--sasl-password-file', '--sasl-password-file', [CompletionResultType]::ParameterName, 'File whose first line is the SASL password')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM CA certificates the brokers'' certificates must chain to [default: Mozilla''s roots]')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM client certificate chain, for mutual TLS (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM private key of --tls-cert')
            [CompletionResult]::new('--client-config', '--client-config', [CompletionResultType]::ParameterName, 'Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Pull every topic of the source (not its internal ones)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep following the source until Ctrl-C or SIGTERM')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep following the source until Ctrl-C or SIGTERM')
            [CompletionResult]::new('--truncate-on-divergence', '--truncate-on-divergence', [CompletionResultType]::ParameterName, 'On divergence, cut the local log back to the last batch the source has too')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'After copying, check each partition''s last batch against the source''s')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be created and copied; change nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;mirror;push' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Broker of the cluster to push to (repeatable or comma-separated)')
            [CompletionResult]::new('--security-protocol', '--security-protocol', [CompletionResultType]::ParameterName, 'Kafka''s security.protocol')
            [CompletionResult]::new('--sasl-mechanism', '--sasl-mechanism', [CompletionResultType]::ParameterName, 'SASL mechanism')
            [CompletionResult]::new('--sasl-username', '--sasl-username', [CompletionResultType]::ParameterName, 'SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)')
            [CompletionResult]::new('--sasl-password-file', '--sasl-password-file', [CompletionResultType]::ParameterName, 'File whose first line is the SASL password')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM CA certificates the brokers'' certificates must chain to [default: Mozilla''s roots]')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM client certificate chain, for mutual TLS (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM private key of --tls-cert')
            [CompletionResult]::new('--client-config', '--client-config', [CompletionResultType]::ParameterName, 'Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Push every local topic')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep pushing what is appended until Ctrl-C or SIGTERM')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep pushing what is appended until Ctrl-C or SIGTERM')
            [CompletionResult]::new('--groups', '--groups', [CompletionResultType]::ParameterName, 'Commit the local consumer groups'' offsets on the cluster, translated')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be created and sent; change nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as JSON on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;mirror;help' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Copy local topics into a Kafka cluster, partition for partition, with their groups'' offsets')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;mirror;help;pull' {
            break
        }
        'klog;mirror;help;push' {
            break
        }
        'klog;mirror;help;help' {
            break
        }
        'klog;users' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a user, or change its password')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the users and their mechanisms')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;users;add' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;users;list' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;users;delete' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;users;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a user, or change its password')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the users and their mechanisms')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;users;help;add' {
            break
        }
        'klog;users;help;list' {
            break
        }
        'klog;users;help;delete' {
            break
        }
        'klog;users;help;help' {
            break
        }
        'klog;acls' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Allow a user an operation on a topic, a group or the cluster')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a rule')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;acls;add' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'The topic (a name, `*`, or with --prefixed a prefix)')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The consumer group (a name, `*`, or with --prefixed a prefix)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster (creating topics, the admin APIs, managing ACLs)')
            [CompletionResult]::new('--prefixed', '--prefixed', [CompletionResultType]::ParameterName, 'The name is a prefix')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;acls;list' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s rules')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;acls;remove' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'The topic (a name, `*`, or with --prefixed a prefix)')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The consumer group (a name, `*`, or with --prefixed a prefix)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors (honours NO_COLOR)')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster (creating topics, the admin APIs, managing ACLs)')
            [CompletionResult]::new('--prefixed', '--prefixed', [CompletionResultType]::ParameterName, 'The name is a prefix')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but data and errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klog;acls;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Allow a user an operation on a topic, a group or the cluster')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a rule')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;acls;help;add' {
            break
        }
        'klog;acls;help;list' {
            break
        }
        'klog;acls;help;remove' {
            break
        }
        'klog;acls;help;help' {
            break
        }
        'klog;help' {
            [CompletionResult]::new('topics', 'topics', [CompletionResultType]::ParameterValue, 'Create, list, describe, alter and delete topics')
            [CompletionResult]::new('produce', 'produce', [CompletionResultType]::ParameterValue, 'Append records from stdin or files to a topic')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Print a topic''s records')
            [CompletionResult]::new('groups', 'groups', [CompletionResultType]::ParameterValue, 'List, describe, reset and delete consumer groups')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions for bash, zsh, fish, elvish or powershell')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages to a directory')
            [CompletionResult]::new('__complete-names', '__complete-names', [CompletionResultType]::ParameterValue, 'List topic or group names for the shell completions')
            [CompletionResult]::new('segments', 'segments', [CompletionResultType]::ParameterValue, 'List, dump, roll and verify segments (klog''s or a Kafka broker''s)')
            [CompletionResult]::new('trim', 'trim', [CompletionResultType]::ParameterValue, 'Move a topic''s log start offset up (Kafka''s delete-records)')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Apply retention (retention.ms, retention.bytes) and compaction now')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the data directory to Kafka clients (a single-node Kafka broker)')
            [CompletionResult]::new('mirror', 'mirror', [CompletionResultType]::ParameterValue, 'Copy topics to or from a Kafka cluster over Kafka''s protocol')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Add, list and delete the SASL users of `klog serve`')
            [CompletionResult]::new('acls', 'acls', [CompletionResultType]::ParameterValue, 'Add, list and remove the ACLs `klog serve` checks once users exist')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klog;help;topics' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a topic')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List topics with their size, record count, retention and cleanup policy')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show a topic''s partitions (offsets, size, segments, timestamps) and configs')
            [CompletionResult]::new('alter', 'alter', [CompletionResultType]::ParameterValue, 'Add partitions or change configs')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete topics and all their data')
            break
        }
        'klog;help;topics;create' {
            break
        }
        'klog;help;topics;list' {
            break
        }
        'klog;help;topics;describe' {
            break
        }
        'klog;help;topics;alter' {
            break
        }
        'klog;help;topics;delete' {
            break
        }
        'klog;help;produce' {
            break
        }
        'klog;help;consume' {
            break
        }
        'klog;help;groups' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List consumer groups with their topics, live members and total lag (klog''s, and a Kafka broker''s from its __consumer_offsets topic)')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show a group''s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Move a group''s committed offsets (refused while a member owns an affected partition)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)')
            break
        }
        'klog;help;groups;list' {
            break
        }
        'klog;help;groups;describe' {
            break
        }
        'klog;help;groups;reset' {
            break
        }
        'klog;help;groups;delete' {
            break
        }
        'klog;help;completions' {
            break
        }
        'klog;help;man' {
            break
        }
        'klog;help;__complete-names' {
            break
        }
        'klog;help;segments' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Print batches (and with --records, records) of segments, like kafka-dump-log')
            [CompletionResult]::new('roll', 'roll', [CompletionResultType]::ParameterValue, 'Close the active segment now and start a new one')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check every batch, offset and index entry; --repair cuts damage without moving offsets')
            break
        }
        'klog;help;segments;list' {
            break
        }
        'klog;help;segments;dump' {
            break
        }
        'klog;help;segments;roll' {
            break
        }
        'klog;help;segments;verify' {
            break
        }
        'klog;help;trim' {
            break
        }
        'klog;help;clean' {
            break
        }
        'klog;help;serve' {
            break
        }
        'klog;help;mirror' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Copy local topics into a Kafka cluster, partition for partition, with their groups'' offsets')
            break
        }
        'klog;help;mirror;pull' {
            break
        }
        'klog;help;mirror;push' {
            break
        }
        'klog;help;users' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a user, or change its password')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the users and their mechanisms')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a user')
            break
        }
        'klog;help;users;add' {
            break
        }
        'klog;help;users;list' {
            break
        }
        'klog;help;users;delete' {
            break
        }
        'klog;help;acls' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Allow a user an operation on a topic, a group or the cluster')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a rule')
            break
        }
        'klog;help;acls;add' {
            break
        }
        'klog;help;acls;list' {
            break
        }
        'klog;help;acls;remove' {
            break
        }
        'klog;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
