// The namespaces nearly every magic uses: .NET Interactive's kernel, commands, events and formatters, and this
// extension's directive adapters and chart output.
global using System.Globalization;
global using System.Text.Json.Nodes;
global using Ckpt.Extension.Directives;
global using Ckpt.Extension.Visualisation;
global using Microsoft.DotNet.Interactive;
global using Microsoft.DotNet.Interactive.Commands;
global using Microsoft.DotNet.Interactive.Events;
global using Microsoft.DotNet.Interactive.Formatting;
