export { serviceRequest } from './serviceRequest';
