// String.prototype.isWellFormed and toWellFormed (ES2024), which every Node this project
// supports has (from 20): the compiler's library stops at ES2023.
interface String {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
