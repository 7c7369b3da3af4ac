// The namespaces nearly every command uses: System.CommandLine, the verb definitions it binds, the Kernel's JSON and
// size formatting, and the terminal progress bar.
global using System.CommandLine;
global using System.Globalization;
global using System.Text.Json.Nodes;
global using Ckpt.Cli.Progress;
global using Ckpt.Conversion;
global using Ckpt.Manifest;
global using Ckpt.Verbs;
