//! Omost's name tables (`lib_omost/canvas.py`): the 9 locations, 9 offsets, 9 areas and 149 HTML colour
//! names a canvas may use, each as a small `Copy` handle that knows its name and its value.
//!
//! Table order is Omost's dict insertion order; it matters only for fuzzy matching, where candidates are
//! visited in that order.

macro_rules! name_table {
    ($(#[$doc:meta])* $name:ident, $table:ident, $value:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub struct $name(u8);

        impl $name {
            /// Every value, in Omost's table order.
            pub fn all() -> impl ExactSizeIterator<Item = Self> {
                (0..$table.len()).map(|i| Self(i as u8))
            }

            /// The value with exactly this name.
            pub fn from_name(name: &str) -> Option<Self> {
                $table.iter().position(|(n, _)| *n == name).map(|i| Self(i as u8))
            }

            /// The value at `index` in table order.
            pub fn from_index(index: usize) -> Option<Self> {
                (index < $table.len()).then(|| Self(index as u8))
            }

            /// Position in Omost's table.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// Omost's name for it.
            pub fn name(self) -> &'static str {
                $table[self.index()].0
            }

            /// The names, in table order (the candidates for fuzzy matching).
            pub fn names() -> impl ExactSizeIterator<Item = &'static str> + Clone {
                $table.iter().map(|(n, _)| *n)
            }

            fn value(self) -> $value {
                $table[self.index()].1
            }

            /// The next value in table order, wrapping around.
            pub fn next(self) -> Self {
                Self(((self.index() + 1) % $table.len()) as u8)
            }

            /// The previous value in table order, wrapping around.
            pub fn prev(self) -> Self {
                Self(((self.index() + $table.len() - 1) % $table.len()) as u8)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

name_table!(
    /// Where a region sits: the centre of one cell of the 3×3 grid.
    Location, LOCATIONS, (i32, i32)
);
name_table!(
    /// A nudge of ±10 grid units away from the location's centre.
    Offset, OFFSETS, (i32, i32)
);
name_table!(
    /// The size and shape of a region's box.
    Area, AREAS, (i32, i32)
);
name_table!(
    /// One of Omost's HTML web colour names.
    ColorName, COLORS, [u8; 3]
);

impl Location {
    /// Centre `(x, y)` on the 90×90 grid.
    pub fn center(self) -> (i32, i32) {
        self.value()
    }

    /// Column and row (0..3) of this location in the 3×3 grid.
    pub fn cell(self) -> (i32, i32) {
        let (x, y) = self.center();
        (x / 30, y / 30)
    }

    /// The location whose cell is `(column, row)` in the 3×3 grid, if both are in 0..3.
    pub fn at_cell(column: i32, row: i32) -> Option<Self> {
        Self::all().find(|l| l.cell() == (column, row))
    }
}

impl Offset {
    /// Displacement `(dx, dy)` on the 90×90 grid; y grows downward.
    pub fn delta(self) -> (i32, i32) {
        self.value()
    }
}

impl Area {
    /// Box `(width, height)` on the 90×90 grid.
    pub fn size(self) -> (i32, i32) {
        self.value()
    }
}

impl ColorName {
    /// The colour's `[r, g, b]`.
    pub fn rgb(self) -> [u8; 3] {
        self.value()
    }
}

const LOCATIONS: [(&str, (i32, i32)); 9] = [
    ("in the center", (45, 45)),
    ("on the left", (15, 45)),
    ("on the right", (75, 45)),
    ("on the top", (45, 15)),
    ("on the bottom", (45, 75)),
    ("on the top-left", (15, 15)),
    ("on the top-right", (75, 15)),
    ("on the bottom-left", (15, 75)),
    ("on the bottom-right", (75, 75)),
];

const OFFSETS: [(&str, (i32, i32)); 9] = [
    ("no offset", (0, 0)),
    ("slightly to the left", (-10, 0)),
    ("slightly to the right", (10, 0)),
    ("slightly to the upper", (0, -10)),
    ("slightly to the lower", (0, 10)),
    ("slightly to the upper-left", (-10, -10)),
    ("slightly to the upper-right", (10, -10)),
    ("slightly to the lower-left", (-10, 10)),
    ("slightly to the lower-right", (10, 10)),
];

const AREAS: [(&str, (i32, i32)); 9] = [
    ("a small square area", (50, 50)),
    ("a small vertical area", (40, 60)),
    ("a small horizontal area", (60, 40)),
    ("a medium-sized square area", (60, 60)),
    ("a medium-sized vertical area", (50, 80)),
    ("a medium-sized horizontal area", (80, 50)),
    ("a large square area", (70, 70)),
    ("a large vertical area", (60, 90)),
    ("a large horizontal area", (90, 60)),
];

const COLORS: [(&str, [u8; 3]); 149] = [
    ("aliceblue", [240, 248, 255]),
    ("antiquewhite", [250, 235, 215]),
    ("aqua", [0, 255, 255]),
    ("aquamarine", [127, 255, 212]),
    ("azure", [240, 255, 255]),
    ("beige", [245, 245, 220]),
    ("bisque", [255, 228, 196]),
    ("black", [0, 0, 0]),
    ("blanchedalmond", [255, 235, 205]),
    ("blue", [0, 0, 255]),
    ("blueviolet", [138, 43, 226]),
    ("brown", [165, 42, 42]),
    ("burlywood", [222, 184, 135]),
    ("cadetblue", [95, 158, 160]),
    ("chartreuse", [127, 255, 0]),
    ("chocolate", [210, 105, 30]),
    ("coral", [255, 127, 80]),
    ("cornflowerblue", [100, 149, 237]),
    ("cornsilk", [255, 248, 220]),
    ("crimson", [220, 20, 60]),
    ("cyan", [0, 255, 255]),
    ("darkblue", [0, 0, 139]),
    ("darkcyan", [0, 139, 139]),
    ("darkgoldenrod", [184, 134, 11]),
    ("darkgray", [169, 169, 169]),
    ("darkgrey", [169, 169, 169]),
    ("darkgreen", [0, 100, 0]),
    ("darkkhaki", [189, 183, 107]),
    ("darkmagenta", [139, 0, 139]),
    ("darkolivegreen", [85, 107, 47]),
    ("darkorange", [255, 140, 0]),
    ("darkorchid", [153, 50, 204]),
    ("darkred", [139, 0, 0]),
    ("darksalmon", [233, 150, 122]),
    ("darkseagreen", [143, 188, 143]),
    ("darkslateblue", [72, 61, 139]),
    ("darkslategray", [47, 79, 79]),
    ("darkslategrey", [47, 79, 79]),
    ("darkturquoise", [0, 206, 209]),
    ("darkviolet", [148, 0, 211]),
    ("deeppink", [255, 20, 147]),
    ("deepskyblue", [0, 191, 255]),
    ("dimgray", [105, 105, 105]),
    ("dimgrey", [105, 105, 105]),
    ("dodgerblue", [30, 144, 255]),
    ("firebrick", [178, 34, 34]),
    ("floralwhite", [255, 250, 240]),
    ("forestgreen", [34, 139, 34]),
    ("fuchsia", [255, 0, 255]),
    ("gainsboro", [220, 220, 220]),
    ("ghostwhite", [248, 248, 255]),
    ("gold", [255, 215, 0]),
    ("goldenrod", [218, 165, 32]),
    ("gray", [128, 128, 128]),
    ("grey", [128, 128, 128]),
    ("green", [0, 128, 0]),
    ("greenyellow", [173, 255, 47]),
    ("honeydew", [240, 255, 240]),
    ("hotpink", [255, 105, 180]),
    ("indianred", [205, 92, 92]),
    ("indigo", [75, 0, 130]),
    ("ivory", [255, 255, 240]),
    ("khaki", [240, 230, 140]),
    ("lavender", [230, 230, 250]),
    ("lavenderblush", [255, 240, 245]),
    ("lawngreen", [124, 252, 0]),
    ("lemonchiffon", [255, 250, 205]),
    ("lightblue", [173, 216, 230]),
    ("lightcoral", [240, 128, 128]),
    ("lightcyan", [224, 255, 255]),
    ("lightgoldenrodyellow", [250, 250, 210]),
    ("lightgray", [211, 211, 211]),
    ("lightgrey", [211, 211, 211]),
    ("lightgreen", [144, 238, 144]),
    ("lightpink", [255, 182, 193]),
    ("lightsalmon", [255, 160, 122]),
    ("lightseagreen", [32, 178, 170]),
    ("lightskyblue", [135, 206, 250]),
    ("lightslategray", [119, 136, 153]),
    ("lightslategrey", [119, 136, 153]),
    ("lightsteelblue", [176, 196, 222]),
    ("lightyellow", [255, 255, 224]),
    ("lime", [0, 255, 0]),
    ("limegreen", [50, 205, 50]),
    ("linen", [250, 240, 230]),
    ("magenta", [255, 0, 255]),
    ("maroon", [128, 0, 0]),
    ("mediumaquamarine", [102, 205, 170]),
    ("mediumblue", [0, 0, 205]),
    ("mediumorchid", [186, 85, 211]),
    ("mediumpurple", [147, 112, 219]),
    ("mediumseagreen", [60, 179, 113]),
    ("mediumslateblue", [123, 104, 238]),
    ("mediumspringgreen", [0, 250, 154]),
    ("mediumturquoise", [72, 209, 204]),
    ("mediumvioletred", [199, 21, 133]),
    ("midnightblue", [25, 25, 112]),
    ("mintcream", [245, 255, 250]),
    ("mistyrose", [255, 228, 225]),
    ("moccasin", [255, 228, 181]),
    ("navajowhite", [255, 222, 173]),
    ("navy", [0, 0, 128]),
    ("navyblue", [0, 0, 128]),
    ("oldlace", [253, 245, 230]),
    ("olive", [128, 128, 0]),
    ("olivedrab", [107, 142, 35]),
    ("orange", [255, 165, 0]),
    ("orangered", [255, 69, 0]),
    ("orchid", [218, 112, 214]),
    ("palegoldenrod", [238, 232, 170]),
    ("palegreen", [152, 251, 152]),
    ("paleturquoise", [175, 238, 238]),
    ("palevioletred", [219, 112, 147]),
    ("papayawhip", [255, 239, 213]),
    ("peachpuff", [255, 218, 185]),
    ("peru", [205, 133, 63]),
    ("pink", [255, 192, 203]),
    ("plum", [221, 160, 221]),
    ("powderblue", [176, 224, 230]),
    ("purple", [128, 0, 128]),
    ("rebeccapurple", [102, 51, 153]),
    ("red", [255, 0, 0]),
    ("rosybrown", [188, 143, 143]),
    ("royalblue", [65, 105, 225]),
    ("saddlebrown", [139, 69, 19]),
    ("salmon", [250, 128, 114]),
    ("sandybrown", [244, 164, 96]),
    ("seagreen", [46, 139, 87]),
    ("seashell", [255, 245, 238]),
    ("sienna", [160, 82, 45]),
    ("silver", [192, 192, 192]),
    ("skyblue", [135, 206, 235]),
    ("slateblue", [106, 90, 205]),
    ("slategray", [112, 128, 144]),
    ("slategrey", [112, 128, 144]),
    ("snow", [255, 250, 250]),
    ("springgreen", [0, 255, 127]),
    ("steelblue", [70, 130, 180]),
    ("tan", [210, 180, 140]),
    ("teal", [0, 128, 128]),
    ("thistle", [216, 191, 216]),
    ("tomato", [255, 99, 71]),
    ("turquoise", [64, 224, 208]),
    ("violet", [238, 130, 238]),
    ("wheat", [245, 222, 179]),
    ("white", [255, 255, 255]),
    ("whitesmoke", [245, 245, 245]),
    ("yellow", [255, 255, 0]),
    ("yellowgreen", [154, 205, 50]),
];
