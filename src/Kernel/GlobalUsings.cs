// The namespaces most Kernel files use; a file names only the ones particular to it.
global using System.Globalization;
global using System.Text;
global using System.Text.Json;
global using Ckpt.Errors;
global using Ckpt.Manifest;
global using Ckpt.Storage;
global using Ckpt.Tensors;
global using Ckpt.Verbs;
global using TorchSharp;
global using static TorchSharp.torch;
