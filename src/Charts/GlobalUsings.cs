// The namespaces nearly every chart file uses: figures are built from the Kernel's JSON with PlotlyFigure's helpers.
global using System.Globalization;
global using System.Text.Json.Nodes;
global using static Ckpt.Charts.PlotlyFigure;
